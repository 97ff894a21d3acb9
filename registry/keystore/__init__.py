"""The keystore: holds issuers' private keys encrypted at rest and signs on request."""

from registry.keystore.master import KeystoreError
from registry.keystore.store import Keystore, KeySigner

__all__ = ["KeySigner", "Keystore", "KeystoreError"]

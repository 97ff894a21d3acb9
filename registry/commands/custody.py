"""Key custody: where private keys live and who signs with them. Commands see only this interface:
public keys, signers and keyed hashes, never private key bytes. The file keystore
(registry.keystore) is the embedded default; an HSM or a cloud KMS plugs in here."""

from __future__ import annotations

from typing import Protocol

from registry.vc.proofs import Signer


class CustodyError(Exception):
    """Key custody cannot be opened or used (a wrong passphrase, a missing key file): the
    operator's to fix; the message says what."""


class KeyCustody(Protocol):
    def generate(self) -> str:
        """A new Ed25519 key kept in custody; its public key as a Multikey (z6Mk...)."""

    def holds(self, public_key_multibase: str) -> bool:
        """Whether custody can sign with this key (a self-signing issuer's key is not held)."""

    def signer(self, public_key_multibase: str, verification_method: str) -> Signer:
        """Signs as `verification_method` with the held key; fails now if the key is not held."""

    def recipient_reference(self, email: str) -> str:
        """A stable keyed hash of an e-mail address: a learner recognised without storing it."""

"""Ed25519 signing keys, one file each, private halves encrypted with AES-256-GCM under the master
key. Callers get public keys and signatures; private key bytes never leave this module."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.hashes import SHA256
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from registry.keystore.master import KeystoreError, b64, open_master_key, unb64, write_private
from registry.vc.multikey import decode_public_key, encode_public_key

_RAW = (serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())


class Keystore:
    def __init__(self, directory: Path, passphrase: str | None = None) -> None:
        self.directory = Path(directory)
        self._master = open_master_key(self.directory, passphrase)
        self._recipient_key = HKDF(
            algorithm=SHA256(), length=32, salt=None, info=b"badge-registry recipient reference"
        ).derive(self._master)
        self._loaded: dict[str, Ed25519PrivateKey] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:  # never show key material
        return f"Keystore({str(self.directory)!r})"

    def generate(self) -> str:
        """A new Ed25519 key; returns its public key as a Multikey (z6Mk...)."""
        private = Ed25519PrivateKey.generate()
        public_multibase = encode_public_key(private.public_key().public_bytes_raw())
        nonce = secrets.token_bytes(12)
        sealed = AESGCM(self._master).encrypt(
            nonce, private.private_bytes(*_RAW), public_multibase.encode()
        )
        record = {"version": 1, "type": "Ed25519", "publicKeyMultibase": public_multibase,
                  "nonce": b64(nonce), "sealed": b64(sealed)}
        write_private(self._path(public_multibase), json.dumps(record, indent=2).encode())
        with self._lock:
            self._loaded[public_multibase] = private
        return public_multibase

    def holds(self, public_key_multibase: str) -> bool:
        return self._path(public_key_multibase).exists()

    def sign(self, public_key_multibase: str, data: bytes) -> bytes:
        return self._private(public_key_multibase).sign(data)

    def signer(self, public_key_multibase: str, verification_method: str) -> KeySigner:
        self._private(public_key_multibase)  # fail now, not halfway through a use case
        return KeySigner(self, public_key_multibase, verification_method)

    def recipient_reference(self, identity: str) -> str:
        """A stable keyed hash of an e-mail address: lets the registry recognise a learner across
        credentials without ever storing the address."""
        digest = hmac.new(self._recipient_key, identity.strip().lower().encode(), hashlib.sha256)
        return f"email-hmac:{digest.hexdigest()}"

    def _path(self, public_key_multibase: str) -> Path:
        decode_public_key(public_key_multibase)  # also keeps path separators out of file names
        return self.directory / f"{public_key_multibase}.key.json"

    def _private(self, public_key_multibase: str) -> Ed25519PrivateKey:
        with self._lock:
            cached = self._loaded.get(public_key_multibase)
        if cached is not None:
            return cached
        path = self._path(public_key_multibase)
        if not path.exists():
            raise KeystoreError(f"the keystore holds no private key for {public_key_multibase}")
        record = json.loads(path.read_text())
        try:
            raw = AESGCM(self._master).decrypt(
                unb64(record["nonce"]), unb64(record["sealed"]), public_key_multibase.encode()
            )
        except InvalidTag:
            raise KeystoreError(f"key file {path.name} does not decrypt under this keystore's master key") from None
        private = Ed25519PrivateKey.from_private_bytes(raw)
        if encode_public_key(private.public_key().public_bytes_raw()) != public_key_multibase:
            raise KeystoreError(f"key file {path.name} holds a different key than its name says")
        with self._lock:
            self._loaded[public_key_multibase] = private
        return private


class KeySigner:
    """Signs as one verification method (the `Signer` the proof code expects)."""

    def __init__(self, keystore: Keystore, public_key_multibase: str, verification_method: str) -> None:
        self._keystore = keystore
        self.public_key_multibase = public_key_multibase
        self.verification_method = verification_method

    def sign(self, data: bytes) -> bytes:
        return self._keystore.sign(self.public_key_multibase, data)

    def __repr__(self) -> str:
        return f"KeySigner({self.verification_method!r})"

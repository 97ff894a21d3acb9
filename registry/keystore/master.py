"""The keystore's master key: derived with scrypt from REGISTRY_KEYSTORE_PASSPHRASE, or (embedded
mode) a random key kept in a 0600 file. The mode is recorded on first use and never silently changed."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from registry.commands.custody import CustodyError

MANIFEST = "keystore.json"
KEY_FILE = "master.key"
# scrypt cost: 2**15 * 8 * 128 bytes = 32 MiB and ~0.1 s per derivation, once per process.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_CHECK = b"badge-registry keystore check"


class KeystoreError(CustodyError):
    """The keystore cannot be opened or used; the message says why."""


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def write_private(path: Path, data: bytes) -> None:
    """Create a file readable by its owner only, atomically (write to a temp file, then rename)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def open_master_key(directory: Path, passphrase: str | None) -> bytes:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    manifest_path = directory / MANIFEST
    if not manifest_path.exists():
        return _initialise(directory, passphrase)
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("kdf") == "scrypt":
        if not passphrase:
            raise KeystoreError(
                f"the keystore in {directory} is passphrase-protected: set REGISTRY_KEYSTORE_PASSPHRASE"
            )
        key = _derive(passphrase, unb64(manifest["salt"]), manifest)
    elif manifest.get("kdf") == "keyfile":
        if passphrase:
            raise KeystoreError(
                f"the keystore in {directory} uses a key file, not a passphrase: unset REGISTRY_KEYSTORE_PASSPHRASE"
            )
        key_path = directory / KEY_FILE
        if key_path.stat().st_mode & 0o077:
            raise KeystoreError(f"{key_path} is readable by others: chmod 600 it")
        key = key_path.read_bytes()
    else:
        raise KeystoreError(f"unknown keystore format in {manifest_path}")
    check = unb64(manifest["check"])
    try:
        if AESGCM(key).decrypt(check[:12], check[12:], None) != _CHECK:
            raise InvalidTag
    except InvalidTag:
        raise KeystoreError(f"wrong passphrase or master key for the keystore in {directory}") from None
    return key


def _initialise(directory: Path, passphrase: str | None) -> bytes:
    if passphrase:
        salt = secrets.token_bytes(16)
        manifest = {"version": 1, "kdf": "scrypt", "salt": b64(salt),
                    "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}
        key = _derive(passphrase, salt, manifest)
    else:
        key = secrets.token_bytes(32)
        manifest = {"version": 1, "kdf": "keyfile"}
        write_private(directory / KEY_FILE, key)
    nonce = secrets.token_bytes(12)
    manifest["check"] = b64(nonce + AESGCM(key).encrypt(nonce, _CHECK, None))
    write_private(directory / MANIFEST, json.dumps(manifest, indent=2).encode())
    return key


def _derive(passphrase: str, salt: bytes, manifest: dict) -> bytes:
    kdf = Scrypt(salt=salt, length=32, n=manifest["n"], r=manifest["r"], p=manifest["p"])
    return kdf.derive(passphrase.encode("utf-8"))

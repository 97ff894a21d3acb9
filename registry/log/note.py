"""C2SP signed-note (https://c2sp.org/signed-note) with Ed25519 signatures (type 0x01).

A note is a text ending in a newline, a blank line, and signature lines "— <name> <base64(key id
|| signature)>". The key id is the first four bytes of SHA-256(name || 0x0A || 0x01 || public
key). Verifier keys are "<name>+<key id hex>+<base64(0x01 || public key)>". Go's
golang.org/x/mod/sumdb/note example and the C2SP example are the tests' vectors."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from hashlib import sha256

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

ED25519 = 0x01
DASH = "\u2014"
MAX_NOTE_BYTES = 1 << 16  # far above 16 Ed25519 signatures over a checkpoint
_NAME = re.compile(r"^[^\s+]+$")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")


class NoteError(ValueError):
    """A note or key that is malformed or does not verify; the message says which."""


def key_id(name: str, public_key: bytes) -> int:
    return int.from_bytes(sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()[:4], "big")


def check_name(name: str) -> str:
    if not name or not _NAME.match(name):
        raise NoteError(f"a key name must be non-empty, without spaces or '+': {name!r}")
    return name


@dataclass(frozen=True)
class Verifier:
    name: str
    key_id: int
    public_key: bytes

    @classmethod
    def of(cls, name: str, public_key: bytes) -> Verifier:
        if len(public_key) != 32:
            raise NoteError(f"an Ed25519 public key is 32 bytes, not {len(public_key)}")
        return cls(check_name(name), key_id(name, public_key), public_key)

    @classmethod
    def parse(cls, vkey: str) -> Verifier:
        """A verifier key "<name>+<hex id>+<base64(0x01 || key)>"."""
        parts = vkey.strip().split("+", 2)  # base64 has '+' of its own
        if len(parts) != 3:
            raise NoteError("a verifier key is <name>+<key id>+<base64 key>, three parts joined by '+'")
        name, hex_id, encoded = parts
        check_name(name)
        if not re.fullmatch(r"[0-9a-f]{8}", hex_id):
            raise NoteError(f"the key id of a verifier key is 8 lowercase hex digits, not {hex_id!r}")
        raw = _b64(encoded, "the verifier key")
        if not raw or raw[0] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 (type 0x01) key")
        verifier = cls.of(name, raw[1:])
        if verifier.key_id != int(hex_id, 16):
            raise NoteError(f"the verifier key's id {hex_id} does not match its name and key "
                            f"({verifier.key_id:08x})")
        return verifier

    @property
    def vkey(self) -> str:
        encoded = base64.b64encode(bytes([ED25519]) + self.public_key).decode()
        return f"{self.name}+{self.key_id:08x}+{encoded}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, text)
        except InvalidSignature:
            return False
        return True


def sign(text: str, name: str, public_key: bytes, sign_bytes: Callable[[bytes], bytes]) -> str:
    """The signed note: text (ending in a newline), a blank line, one Ed25519 signature line."""
    check_text(text)
    verifier = Verifier.of(name, public_key)
    signature = sign_bytes(text.encode())
    if not verifier.verify(text.encode(), signature):  # what we sign, we must verify
        raise NoteError("the signing key does not match the public key it was named by")
    line = base64.b64encode(verifier.key_id.to_bytes(4, "big") + signature).decode()
    return f"{text}\n{DASH} {name} {line}\n"


def check_text(text: str) -> None:
    if not text.endswith("\n"):
        raise NoteError("a note's text must end with a newline")
    if _CONTROL.search(text):
        raise NoteError("a note must not contain control characters other than newline")


def open_note(note: bytes | str, verifier: Verifier) -> str:
    """The note's text, when a signature by `verifier` verifies; NoteError otherwise. Signatures by
    other keys are ignored, as the specification requires."""
    raw = note.encode() if isinstance(note, str) else note
    if len(raw) > MAX_NOTE_BYTES:
        raise NoteError(f"the note is {len(raw):,} bytes, more than {MAX_NOTE_BYTES:,}")
    try:
        whole = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise NoteError("the note is not valid UTF-8") from None
    if _CONTROL.search(whole):
        raise NoteError("the note contains control characters other than newline")
    split = whole.rfind("\n\n")
    if split < 0 or not whole.endswith("\n"):
        raise NoteError("the note has no blank line before its signatures")
    text, signatures = whole[:split + 1], whole[split + 2:]
    found = False
    for line in signatures[:-1].split("\n"):
        if not line.startswith(f"{DASH} "):
            raise NoteError(f"not a signature line: {line[:60]!r}")
        fields = line[2:].split(" ")
        if len(fields) != 2 or not fields[0]:
            raise NoteError(f"a signature line is '{DASH} <name> <signature>': {line[:60]!r}")
        name, encoded = fields
        blob = _b64(encoded, f"the signature by {name}")
        if len(blob) < 5:
            raise NoteError(f"the signature by {name} is too short")
        if name != verifier.name or int.from_bytes(blob[:4], "big") != verifier.key_id:
            continue  # another key's signature (a witness, a rotated key): not ours to judge
        if not verifier.verify(text.encode(), blob[4:]):
            raise NoteError(f"the signature by {verifier.name}+{verifier.key_id:08x} does not verify")
        found = True
    if not found:
        raise NoteError(f"the note carries no signature by {verifier.name}+{verifier.key_id:08x}")
    return text


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"{what} is not valid base64") from None

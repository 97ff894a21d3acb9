"""Ed25519 keys in Multikey form (W3C Controlled Identifiers 1.0, Data Integrity EdDSA 1.0).

A Multikey is `z` (the multibase code for base58btc) + base58btc(multicodec header + raw key).
Ed25519 public keys use header 0xed 0x01 ("z6Mk..."), secret keys 0x80 0x26 ("z3u2...")."""

from __future__ import annotations

from functools import lru_cache

import base58

from registry.vc.errors import DocumentError

ED25519_PUBLIC_HEADER = b"\xed\x01"
ED25519_SECRET_HEADER = b"\x80\x26"
ED25519_KEY_LENGTH = 32


def encode_public_key(raw: bytes) -> str:
    """The Multikey string of a raw 32-byte Ed25519 public key."""
    if len(raw) != ED25519_KEY_LENGTH:
        raise DocumentError(f"an Ed25519 public key is {ED25519_KEY_LENGTH} bytes, got {len(raw)}")
    return "z" + base58.b58encode(ED25519_PUBLIC_HEADER + raw).decode("ascii")


def decode_public_key(mb: str) -> bytes:
    """The raw 32-byte Ed25519 public key of a Multikey string ("z6Mk...")."""
    if isinstance(mb, str):
        return _decode_public(mb)  # keys repeat: every credential of an issuer names the same ones
    return _decode(mb, ED25519_PUBLIC_HEADER, "public")


@lru_cache(maxsize=1024)
def _decode_public(mb: str) -> bytes:
    return _decode(mb, ED25519_PUBLIC_HEADER, "public")


def decode_secret_key(mb: str) -> bytes:
    """The raw 32-byte Ed25519 secret key (seed) of a Multikey secret key string ("z3u2...")."""
    return _decode(mb, ED25519_SECRET_HEADER, "secret")


def decode_base58btc(mb: str, what: str) -> bytes:
    """The bytes of a base58btc multibase string (`z` + base58btc)."""
    if not isinstance(mb, str) or not mb.startswith("z"):
        raise DocumentError(f"{what} must be a base58btc multibase string starting with 'z'")
    try:
        return base58.b58decode(mb[1:])
    except ValueError:
        raise DocumentError(f"{what} contains characters outside the base58btc alphabet") from None


def _decode(mb: str, header: bytes, kind: str) -> bytes:
    data = decode_base58btc(mb, f"Ed25519 {kind} Multikey {mb!r}")
    if data[:2] != header:
        raise DocumentError(
            f"Multikey {mb!r} has multicodec header 0x{data[:2].hex()}, "
            f"expected 0x{header.hex()} (Ed25519 {kind} key)"
        )
    if len(data) != len(header) + ED25519_KEY_LENGTH:
        raise DocumentError(
            f"Multikey {mb!r} holds {len(data) - len(header)} key bytes, expected {ED25519_KEY_LENGTH}"
        )
    return data[len(header):]

"""Open Badges 3.0 `IdentityObject`s for recipients known by e-mail address.

The registry never publishes a recipient's address: it publishes a salted SHA-256 of it, which
the recipient (or anyone they tell their address to) can match against the credential."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from registry.vc.errors import DocumentError

# Deliberately simple: one '@', no whitespace, a dotted domain. Deliverability is not our concern;
# the check only keeps obvious non-addresses (names, ids, empty strings) out of recipient hashes.
_EMAIL = re.compile(r"^[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+$")

SALT_BYTES = 16


def normalize_email(email: str) -> str:
    """The form that is hashed: surrounding whitespace removed, lower case."""
    if not isinstance(email, str):
        raise DocumentError(f"an e-mail address must be a string, got {type(email).__name__}")
    normalized = email.strip().lower()
    if not _EMAIL.match(normalized):
        raise DocumentError("recipient is not an e-mail address (expected local@domain.tld)")
    return normalized


def hashed_email_identity(email: str, salt: str | None = None) -> dict:
    """An IdentityObject holding sha256(normalized address + salt); a random salt when none is given."""
    normalized = normalize_email(email)
    if salt is None:
        salt = secrets.token_hex(SALT_BYTES)
    elif not isinstance(salt, str):
        raise DocumentError(f"salt must be a string, got {type(salt).__name__}")
    digest = hashlib.sha256((normalized + salt).encode("utf-8")).hexdigest()
    return {
        "type": "IdentityObject",
        "identityHash": "sha256$" + digest,
        "identityType": "emailAddress",
        "hashed": True,
        "salt": salt,
    }


def matches_email(identity: dict, email: str) -> bool:
    """Whether an emailAddress IdentityObject (hashed or plain) names this address."""
    if not isinstance(identity, dict) or identity.get("identityType") != "emailAddress":
        return False
    try:
        normalized = normalize_email(email)
    except DocumentError:
        return False
    stored = identity.get("identityHash")
    if not isinstance(stored, str):
        return False
    if identity.get("hashed") is not True:
        return hmac.compare_digest(stored.strip().lower().encode(), normalized.encode())
    salt = identity.get("salt") or ""
    algorithm, _, digest = stored.partition("$")
    # OB 3.0 allows "md5$" for hashes made by other issuers; this module only ever writes sha256.
    if algorithm not in ("sha256", "md5") or not isinstance(salt, str):
        return False
    expected = hashlib.new(algorithm, (normalized + salt).encode("utf-8")).hexdigest()
    return hmac.compare_digest(digest.lower().encode(), expected.encode())

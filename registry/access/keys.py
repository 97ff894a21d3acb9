"""API keys: who may write through the HTTP API. A key acts for one issuer, or for the registry
(admin: the registry's operator). Only a SHA-256 of each key is stored, in a table of its own beside
the event store (never in the public event log); the key itself is shown once, when it is made. Its
first characters are its id, safe to show and to log, and name the actor of every write made with
it ("api:<id>")."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timezone

import msgspec

from registry.access.errors import AccessError, UnknownApiKey
from registry.commands.policy import Actor
from registry.store import Database

KEY_PREFIX = "rk_"
ID_LENGTH = len(KEY_PREFIX) + 8
ADMIN = "admin"
TABLE = "api_keys"
DDL = ("CREATE TABLE IF NOT EXISTS api_keys (id TEXT PRIMARY KEY, hash TEXT NOT NULL UNIQUE, "
       "issuer TEXT, created_at TEXT NOT NULL, revoked_at TEXT)")


class Principal(msgspec.Struct, frozen=True):
    """The holder of a valid key: acts for `issuer`, or for the whole registry when admin."""

    key_id: str
    issuer: str | None

    @property
    def admin(self) -> bool:
        return self.issuer is None

    @property
    def actor(self) -> Actor:
        return Actor(f"api:{self.key_id}", self.issuer)


class ApiKeyRecord(msgspec.Struct, frozen=True):
    id: str
    scope: str  # an issuer slug, or "admin"
    created_at: str
    revoked_at: str | None = None


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class ApiKeys:
    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, *, issuer: str | None) -> tuple[str, ApiKeyRecord]:
        """A new key (shown to the caller once) and its record. `issuer` None: an admin key."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)  # 32 random bytes
        now = _now()
        with self.db.transaction() as cursor:
            cursor.execute("INSERT INTO api_keys (id, hash, issuer, created_at) VALUES (?, ?, ?, ?)",
                           (key[:ID_LENGTH], key_hash(key), issuer, now))
        return key, ApiKeyRecord(key[:ID_LENGTH], issuer or ADMIN, now)

    def authenticate(self, key: str) -> Principal | None:
        """The principal of a valid, unrevoked key; None for anything else. The lookup is by hash,
        so its timing says nothing about how close a guess was."""
        rows = self.db.query("SELECT id, issuer, revoked_at FROM api_keys WHERE hash = ?", (key_hash(key),))
        if not rows or rows[0][2] is not None:
            return None
        return Principal(key_id=rows[0][0], issuer=rows[0][1])

    def records(self) -> list[ApiKeyRecord]:
        rows = self.db.query("SELECT id, issuer, created_at, revoked_at FROM api_keys ORDER BY created_at, id")
        return [ApiKeyRecord(r[0], r[1] or ADMIN, r[2], r[3]) for r in rows]

    def revoke(self, key_id: str) -> ApiKeyRecord:
        with self.db.transaction() as cursor:
            rows = cursor.execute("SELECT id, issuer, created_at, revoked_at FROM api_keys WHERE id = ?",
                                  (key_id,))
            if not rows:
                raise UnknownApiKey(f"no API key with id {key_id!r}")
            if rows[0][3] is not None:
                raise AccessError(f"API key {key_id} was already revoked at {rows[0][3]}", 409)
            now = _now()
            cursor.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ?", (now, key_id))
        return ApiKeyRecord(rows[0][0], rows[0][1] or ADMIN, rows[0][2], now)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")

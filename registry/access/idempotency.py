"""Idempotent writes: a client that sends an Idempotency-Key gets the first answer again when it
repeats the request (a retry after a lost response stores nothing twice). The same key with a
different request is refused, and so is a repeat while the first is still running.

Records live in their own table beside the event store, per API key. Only successful answers are
kept: a refused write stored nothing, so its key is released and the client may retry."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone

import msgspec

from registry.access.errors import IdempotencyConflict
from registry.errors import InputError
from registry.store import Database

MAX_KEY_LENGTH = 255
IN_PROGRESS = 0
TABLE = "api_idempotency"
DDL = ("CREATE TABLE IF NOT EXISTS api_idempotency (key_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, "
       "request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT, created_at TEXT NOT NULL, "
       "PRIMARY KEY (key_id, idempotency_key))")


class Replay(msgspec.Struct, frozen=True):
    status: int
    body: bytes


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InputError("Idempotency-Key", f"must be 1-{MAX_KEY_LENGTH} printable ASCII characters")
    return key


class IdempotencyRecords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def begin(self, key_id: str, key: str, digest: str) -> Replay | None:
        """None: this request is the first with the key and should run. Otherwise the stored answer."""
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO api_idempotency (key_id, idempotency_key, request_hash, status, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (key_id, key, digest, IN_PROGRESS, datetime.now(timezone.utc).isoformat()),
            )
            if cursor.rowcount == 1:
                return None
            rows = cursor.execute(
                "SELECT request_hash, status, body FROM api_idempotency WHERE key_id = ? AND idempotency_key = ?",
                (key_id, key),
            )
        stored_digest, status, body = rows[0]
        if stored_digest != digest:
            raise IdempotencyConflict(f"Idempotency-Key {key!r} was already used for a different request", 422)
        if status == IN_PROGRESS:
            raise IdempotencyConflict(f"the request with Idempotency-Key {key!r} is still being processed", 409)
        return Replay(status=status, body=body.encode("utf-8"))

    def finish(self, key_id: str, key: str, status: int, body: bytes) -> None:
        with self.db.transaction() as cursor:
            cursor.execute("UPDATE api_idempotency SET status = ?, body = ? WHERE key_id = ? AND idempotency_key = ?",
                           (status, body.decode("utf-8"), key_id, key))

    def release(self, key_id: str, key: str) -> None:
        with self.db.transaction() as cursor:
            cursor.execute("DELETE FROM api_idempotency WHERE key_id = ? AND idempotency_key = ?", (key_id, key))

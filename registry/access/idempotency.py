"""Idempotent writes: a client that sends an Idempotency-Key gets the first answer again when it
repeats the request (a retry after a lost response stores nothing twice). The same key with a
different request is refused, and so is a repeat while the first is still running.

Retries converge, whatever crashes where:
- the claim (`begin`) is committed first, marked in progress, with the moment it was taken;
- the write and its answer are committed in ONE transaction (`EventStore.holding`): the events a
  command saves are held until the answer is recorded beside them. After any crash either both
  are stored (a retry gets the answer) or neither (a retry performs the write);
- a claim left in progress by a worker that died expires after `expiry_seconds`
  (REGISTRY_IDEMPOTENCY_EXPIRY_SECONDS, default IN_PROGRESS_SECONDS): the next retry
  takes it over (compare-and-set on the moment). Should the first worker still be alive, its
  answer no longer matches the claim, and its write is rolled back: the write happens once.

Records live in their own table beside the event store (the same database, so the answer can share
the events' transaction), per API key. Only successful answers are kept: a refused write stored
nothing, so its key is released and the client may retry."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import msgspec

from registry.access.errors import IdempotencyConflict
from registry.errors import InputError
from registry.store import Database, EventStore

MAX_KEY_LENGTH = 255
IN_PROGRESS = 0
# How long a claim may stay in progress before a retry takes it over: longer than the slowest
# write the API accepts (a 5,000-row batch on PostgreSQL, bench/batch_sizes.py), short enough that
# a client retrying after a crash is not kept waiting long.
IN_PROGRESS_SECONDS = 120
TABLE = "api_idempotency"
DDL = ("CREATE TABLE IF NOT EXISTS api_idempotency (key_id TEXT NOT NULL, idempotency_key TEXT NOT NULL, "
       "request_hash TEXT NOT NULL, status INTEGER NOT NULL, body TEXT, created_at TEXT NOT NULL, "
       "PRIMARY KEY (key_id, idempotency_key))")
# The answer, recorded only over the claim this worker holds (`{table}`: the recorder names it).
ANSWER = ("UPDATE {table} SET status = ?, body = ? "
          "WHERE key_id = ? AND idempotency_key = ? AND status = 0 AND created_at = ?")


class Replay(msgspec.Struct, frozen=True):
    status: int
    body: bytes


class Claim(msgspec.Struct, frozen=True):
    key_id: str
    key: str
    taken_at: str  # the claim's moment: the answer is recorded only if it is still this one


def request_hash(method: str, path: str, body: bytes) -> str:
    return hashlib.sha256(b"\n".join([method.encode(), path.encode(), body])).hexdigest()


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise InputError("Idempotency-Key", f"must be 1-{MAX_KEY_LENGTH} printable ASCII characters")
    return key


def _now() -> datetime:
    return datetime.now(timezone.utc)


class IdempotencyRecords:
    def __init__(self, db: Database, store: EventStore | None = None, *,
                 expiry_seconds: int = IN_PROGRESS_SECONDS, clock: Callable[[], datetime] = _now) -> None:
        self.db = db
        self.store = store
        self.expiry = expiry_seconds  # a claim in progress this long is taken over by a retry
        self.clock = clock

    def begin(self, key_id: str, key: str, digest: str) -> Claim | Replay:
        """A Claim: this request is the first with the key (or takes over an expired claim) and
        should run. A Replay: the stored answer."""
        now = self.clock()
        taken_at = now.isoformat(timespec="microseconds")
        with self.db.transaction() as cursor:
            cursor.execute(
                "INSERT INTO api_idempotency (key_id, idempotency_key, request_hash, status, created_at) "
                "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (key_id, key, digest, IN_PROGRESS, taken_at),
            )
            if cursor.rowcount == 1:
                return Claim(key_id, key, taken_at)
            rows = cursor.execute(
                "SELECT request_hash, status, body, created_at FROM api_idempotency"
                " WHERE key_id = ? AND idempotency_key = ?", (key_id, key))
            stored_digest, status, body, since = rows[0]
            if stored_digest != digest:
                raise IdempotencyConflict(f"Idempotency-Key {key!r} was already used for a different request", 422)
            if status != IN_PROGRESS:
                return Replay(status=status, body=body.encode("utf-8"))
            age = (now - datetime.fromisoformat(since)).total_seconds()
            if age < self.expiry:
                wait = max(1, int(self.expiry - age) + 1)
                raise IdempotencyConflict(
                    f"the request with Idempotency-Key {key!r} is still being processed; a claim left by a "
                    f"worker that stopped expires {self.expiry} s after it was taken (in {wait} s)",
                    409, retry_after=wait)
            cursor.execute("UPDATE api_idempotency SET created_at = ? WHERE key_id = ? AND idempotency_key = ?"
                           " AND status = ? AND created_at = ?", (taken_at, key_id, key, IN_PROGRESS, since))
            if cursor.rowcount != 1:  # another retry took it over first
                raise IdempotencyConflict(f"the request with Idempotency-Key {key!r} is still being processed",
                                          409, retry_after=1)
            return Claim(key_id, key, taken_at)

    def perform(self, claim: Claim, action: Callable[[], Any], status: int) -> bytes:
        """Run the write and record its answer in the write's own transaction; the encoded answer.
        A refused write releases the claim (nothing was stored)."""
        if self.store is None:
            raise RuntimeError("idempotent writes need the event store (Access.open(..., store=...))")
        try:
            with self.store.holding() as held:
                encoded = msgspec.json.encode(action())
                answer = (status, encoded.decode("utf-8"), claim.key_id, claim.key, claim.taken_at)
                recorded = held.finish(ANSWER, answer) if held.written else self._record_alone(answer)
                if recorded != 1:
                    raise IdempotencyConflict(
                        f"the request with Idempotency-Key {claim.key!r} was taken over by a retry after "
                        f"{self.expiry} s; this attempt stored nothing", 409)
        except IdempotencyConflict:
            raise
        except BaseException:
            self.release(claim)
            raise
        return encoded

    def _record_alone(self, answer: tuple) -> int:
        """A write that saved no event (nothing changed): its answer is recorded on its own."""
        with self.db.transaction() as cursor:
            cursor.execute(ANSWER.format(table=TABLE), answer)
            return cursor.rowcount

    def release(self, claim: Claim) -> None:
        with self.db.transaction() as cursor:
            cursor.execute("DELETE FROM api_idempotency WHERE key_id = ? AND idempotency_key = ?"
                           " AND status = ? AND created_at = ?", (claim.key_id, claim.key, IN_PROGRESS, claim.taken_at))


__all__ = ["ANSWER", "IN_PROGRESS_SECONDS", "Claim", "IdempotencyRecords", "Replay", "check_key", "request_hash"]

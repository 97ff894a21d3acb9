"""Access: who may use the HTTP API and how much. API keys, idempotency records and rate limits,
outside the HTTP package so that the command line manages the same keys the API checks. Its tables
live beside the event store, never in the public event log."""

from __future__ import annotations

from dataclasses import dataclass

from registry.access.errors import AccessError, IdempotencyConflict, UnknownApiKey
from registry.access.idempotency import Claim, IdempotencyRecords, Replay, check_key, request_hash
from registry.access.keys import ADMIN, ApiKeyRecord, ApiKeys, Principal
from registry.access.limits import RateLimiter
from registry.access import idempotency, keys
from registry.store import Database, EventStore

TABLES = (keys.TABLE, idempotency.TABLE)


@dataclass
class Access:
    keys: ApiKeys
    idempotency: IdempotencyRecords
    limiter: RateLimiter

    @classmethod
    def open(cls, db: Database, *, rate_per_minute: int, burst: int | None = None,
             create_tables: bool = True, store: EventStore | None = None) -> Access:
        """`store`: the event store beside `db`, whose transactions idempotent writes share."""
        if create_tables:
            with db.transaction() as cursor:
                cursor.execute(keys.DDL)
                cursor.execute(idempotency.DDL)
        return cls(ApiKeys(db), IdempotencyRecords(db, store), RateLimiter(rate_per_minute, burst=burst))

    def close(self) -> None:
        self.keys.db.close()


__all__ = [
    "ADMIN", "TABLES", "Access", "AccessError", "ApiKeyRecord", "ApiKeys", "Claim", "IdempotencyConflict",
    "IdempotencyRecords", "Principal", "RateLimiter", "Replay", "UnknownApiKey", "check_key", "request_hash",
]

"""Access: who may use the HTTP API and how much. API keys, idempotency records and rate limits
(writes per API key, reads per client address), outside the HTTP package so that the command line
manages the same keys the API checks. Its tables live beside the event store, never in the public
event log, and every worker of every host shares them."""

from __future__ import annotations

from dataclasses import dataclass

from registry.access.errors import AccessError, IdempotencyConflict, UnknownApiKey
from registry.access.idempotency import Claim, IdempotencyRecords, Replay, check_key, request_hash
from registry.access.keys import ADMIN, ApiKeyRecord, ApiKeys, Principal
from registry.access.limits import RateLimiter
from registry.access import idempotency, keys, limits, streams
from registry.access.streams import StreamSlots
from registry.store import Database, EventStore

TABLES = (keys.TABLE, idempotency.TABLE, limits.TABLE, streams.TABLE)
MAX_EVENT_STREAMS = 100  # open event streams, all workers and hosts together


@dataclass
class Access:
    keys: ApiKeys
    idempotency: IdempotencyRecords
    limiter: RateLimiter  # writes, per API key
    reads: RateLimiter | None  # reads (and verification), per client address; None: not limited
    streams: StreamSlots  # the cap on open event streams

    @classmethod
    def open(cls, db: Database, *, rate_per_minute: int, burst: int | None = None, side: Database | None = None,
             read_rate_per_minute: int | None = None, read_burst: int | None = None,
             max_event_streams: int = MAX_EVENT_STREAMS, idempotency_expiry_seconds: int | None = None,
             create_tables: bool = True, store: EventStore | None = None) -> Access:
        """`store`: the event store beside `db`, whose transactions idempotent writes share. `side`:
        where rate limits and stream slots live, if not in `db` (SQLite: a file of their own, so
        that a read never waits for the event store's write lock)."""
        side = side or db
        if create_tables:
            with db.transaction() as cursor:
                cursor.execute(keys.DDL)
                cursor.execute(idempotency.DDL)
        if create_tables or side is not db:  # a side file is the registry's own: always its tables
            with side.transaction() as cursor:
                cursor.execute(limits.DDL)
                cursor.execute(streams.DDL)
        reads = (RateLimiter(side, read_rate_per_minute, burst=read_burst, name="read")
                 if read_rate_per_minute else None)
        expiry = {"expiry_seconds": idempotency_expiry_seconds} if idempotency_expiry_seconds else {}
        return cls(ApiKeys(db), IdempotencyRecords(db, store, **expiry),
                   RateLimiter(side, rate_per_minute, burst=burst, name="write"), reads,
                   StreamSlots(side, max_event_streams))

    def close(self) -> None:
        if self.streams.db is not self.keys.db:
            self.streams.db.close()
        self.keys.db.close()


__all__ = [
    "ADMIN", "TABLES", "Access", "AccessError", "ApiKeyRecord", "ApiKeys", "Claim", "IdempotencyConflict",
    "IdempotencyRecords", "MAX_EVENT_STREAMS", "Principal", "RateLimiter", "StreamSlots", "Replay", "UnknownApiKey", "check_key", "request_hash",
]

"""The cap on open event streams (Server-Sent Events), exact across workers and hosts: each open
stream holds a row in a shared table, taken under a lock (PostgreSQL: an advisory transaction
lock; SQLite: the file's write lock) after counting the rows, so concurrent openings can never pass
the cap together. A stream refreshes its row while open; a row not refreshed for STALE_SECONDS
belongs to a worker that died and no longer counts."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from registry.store import Database

TABLE = "event_streams"
DDL = ("CREATE TABLE IF NOT EXISTS event_streams (id TEXT PRIMARY KEY, opened_at DOUBLE PRECISION NOT NULL, "
       "alive_at DOUBLE PRECISION NOT NULL)")
STALE_SECONDS = 60.0  # several heartbeats (registry.api.events.HEARTBEAT_SECONDS)


class StreamSlots:
    def __init__(self, db: Database, cap: int, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.cap = cap
        self.clock = clock

    def take(self) -> str | None:
        """A slot for one stream, or None when `cap` streams are open."""
        now = self.clock()
        slot = uuid.uuid4().hex
        with self.db.transaction() as cursor:
            if self.db.kind == "postgres":
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('registry event streams'))")
            cursor.execute("DELETE FROM event_streams WHERE alive_at < ?", (now - STALE_SECONDS,))
            if cursor.execute("SELECT count(*) FROM event_streams")[0][0] >= self.cap:
                return None
            cursor.execute("INSERT INTO event_streams (id, opened_at, alive_at) VALUES (?, ?, ?)", (slot, now, now))
        return slot

    def alive(self, slot: str) -> None:
        with self.db.transaction() as cursor:
            cursor.execute("UPDATE event_streams SET alive_at = ? WHERE id = ?", (self.clock(), slot))

    def release(self, slot: str) -> None:
        with self.db.transaction() as cursor:
            cursor.execute("DELETE FROM event_streams WHERE id = ?", (slot,))

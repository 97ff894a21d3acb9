"""Runs projections over the notification log: each batch of notifications is applied in ONE
transaction that also advances the projection's position, so a projection never applies an event
twice or skips one, whatever kills the process. Two runners on one database serialise on the
position row (PostgreSQL FOR UPDATE) or the file's write lock (SQLite BEGIN IMMEDIATE) and re-read
the position inside the transaction.

Why not eventsourcing's ProjectionRunner: it processes one event per transaction from a
subscription, which its SQLite recorder does not offer; on PostgreSQL, applying the same log one
event per transaction was measured many times slower than these batches (bench/projection_runner.py;
figures in docs/architecture.md). Batches of up to 1,000 notifications, each a few executemany
calls, are what make a rebuild of 100,000 events take seconds."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import msgspec
from psycopg.errors import LockNotAvailable

from registry.errors import InputError
from registry.projections.projection import EventLog, Projection, Writes
from registry.store import Cursor, Database, EventStore

BATCH_SIZE = 1000
# How long a runner waits for another runner's batch (the position row lock) before giving up.
LOCK_WAIT_SECONDS = 5.0
POSITIONS_DDL = ("CREATE TABLE IF NOT EXISTS projection_positions ("
                 " name TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER NOT NULL DEFAULT 1)")
SET_POSITION = "UPDATE projection_positions SET position = ? WHERE name = ?"


class ReadStoreError(RuntimeError):
    """The read models cannot be used as they are (tables of another version, no DDL rights)."""


class ProjectionStatus(msgspec.Struct, frozen=True):
    name: str
    position: int  # the last notification id this projection has checked
    lag: int  # notifications logged after it


class Runner:
    def __init__(self, store: EventStore, db: Database, projections: Iterable[Projection], *,
                 batch_size: int = BATCH_SIZE) -> None:
        if batch_size < 1:
            raise InputError("batch_size", f"must be at least 1, not {batch_size}")
        self.store = store
        self.db = db
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.log = EventLog(store)

    # --- tables ------------------------------------------------------------------------------

    def prepare(self, *, create: bool = True) -> list[str]:
        """Make every projection's tables match its version: create missing ones, drop and recreate
        (to be rebuilt from the log) those of another version. Returns the names rebuilt. Without
        DDL rights (`create` False) only checks, and says what an owner must run."""
        if not create:
            self._check_versions()
            return []
        rebuilt = []
        with self.db.transaction() as cursor:
            if self.db.kind == "postgres":
                # Concurrent first starts would race on CREATE TABLE IF NOT EXISTS.
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('registry projections ddl'))")
            cursor.execute(POSITIONS_DDL)
            if "version" not in self._columns(cursor):  # tables made before versions were kept
                cursor.execute("ALTER TABLE projection_positions ADD COLUMN version INTEGER NOT NULL DEFAULT 1")
            stored = {name: version for name, version in
                      cursor.execute("SELECT name, version FROM projection_positions")}
            for projection in self.projections.values():
                if projection.name not in stored:
                    self._create(cursor, projection)
                    cursor.execute("INSERT INTO projection_positions (name, position, version) VALUES (?, 0, ?)",
                                   (projection.name, projection.version))
                elif stored[projection.name] != projection.version:
                    self._recreate(cursor, projection)
                    rebuilt.append(projection.name)
                else:
                    self._create(cursor, projection)
        return rebuilt

    def _check_versions(self) -> None:
        try:
            stored = dict(self.db.query("SELECT name, version FROM projection_positions"))
        except Exception as exc:  # the table or its version column is missing
            raise ReadStoreError(
                "the read-model tables are missing or predate versioned projections; run "
                f"`registry init` as the tables' owner first ({str(exc).strip().splitlines()[0]})") from None
        wrong = [f"{p.name} (stored {stored.get(p.name, 'none')}, needed {p.version})"
                 for p in self.projections.values() if stored.get(p.name) != p.version]
        if wrong:
            raise ReadStoreError(f"read models of another version: {', '.join(wrong)}; run `registry init` "
                                 "as the tables' owner to rebuild them")

    def _columns(self, cursor: Cursor) -> set[str]:
        if self.db.kind == "postgres":
            rows = cursor.execute("SELECT column_name FROM information_schema.columns"
                                  " WHERE table_schema = current_schema() AND table_name = 'projection_positions'")
            return {name for (name,) in rows}
        return {row[1] for row in cursor.execute("PRAGMA table_info(projection_positions)")}

    @staticmethod
    def _create(cursor: Cursor, projection: Projection) -> None:
        for statement in projection.ddl:
            cursor.execute(statement)

    def _recreate(self, cursor: Cursor, projection: Projection) -> None:
        for table in projection.tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        self._create(cursor, projection)
        cursor.execute("UPDATE projection_positions SET position = 0, version = ? WHERE name = ?",
                       (projection.version, projection.name))

    def projection(self, name: str) -> Projection:
        try:
            return self.projections[name]
        except KeyError:
            raise InputError("projection", f"no projection {name!r}: one of {', '.join(self.projections)}") from None

    def chosen(self, names: Iterable[str] | None) -> list[Projection]:
        return list(self.projections.values()) if names is None else [self.projection(n) for n in names]

    # --- positions -----------------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        found = dict(self.db.query("SELECT name, position FROM projection_positions"))
        return {name: found.get(name, 0) for name in self.projections}

    def status(self) -> list[ProjectionStatus]:
        latest = self.store.max_position()
        return [ProjectionStatus(name, position, max(latest - position, 0))
                for name, position in self.positions().items()]

    # --- catching up ---------------------------------------------------------------------------

    def catch_up(self, projections: Iterable[str] | None = None, until_position: int | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
        """Apply every notification up to `until_position` (default: the last one logged now).
        Returns each chosen projection's position afterwards."""
        chosen = self.chosen(projections)
        latest = self.store.max_position()
        # Never past what is logged: a position claims every notification up to it was checked.
        stop = latest if until_position is None else min(until_position, latest)
        positions = self.positions()
        for projection in chosen:
            if positions[projection.name] < stop:
                positions[projection.name] = self._catch_up_one(projection, stop, should_stop)
        return {p.name: positions[p.name] for p in chosen}

    def _locked_position(self, cursor: Cursor, name: str) -> int:
        """The projection's position, read inside the batch's transaction; on PostgreSQL the row
        lock makes a second runner wait for this batch, then read the position it committed."""
        if self.db.kind != "postgres":
            rows = cursor.execute("SELECT position FROM projection_positions WHERE name = ?", (name,))
        else:
            cursor.execute(f"SET LOCAL lock_timeout = '{int(LOCK_WAIT_SECONDS * 1000)}ms'")
            try:
                rows = cursor.execute(
                    "SELECT position FROM projection_positions WHERE name = ? FOR UPDATE", (name,))
            except LockNotAvailable:
                raise ReadStoreError(f"projection {name!r} stayed locked by another runner for more "
                                     f"than {LOCK_WAIT_SECONDS:g} s") from None
        if not rows:
            raise ReadStoreError(f"no position row for projection {name!r}")
        return rows[0][0]

    def _catch_up_one(self, projection: Projection, stop: int, should_stop: Callable[[], bool]) -> int:
        recorder, to_domain_event = self.store.recorder, self.store.mapper.to_domain_event
        while True:
            with self.db.transaction() as cursor:
                position = self._locked_position(cursor, projection.name)
                if position >= stop or should_stop():
                    return position
                notifications = recorder.select_notifications(
                    start=position + 1, limit=self.batch_size, stop=stop, topics=projection.topics)
                # A short page means every notification up to `stop` was checked, matched or not.
                checked = notifications[-1].id if len(notifications) == self.batch_size else stop
                writes = Writes()
                for notification in notifications:
                    projection.handler(notification.topic)(
                        writes, notification.id, to_domain_event(notification), self.log)
                writes.flush(cursor)
                cursor.execute(SET_POSITION, (checked, projection.name))
            if checked >= stop:
                return checked

    def rebuild(self, name: str | None = None, *, should_stop: Callable[[], bool] = lambda: False
                ) -> dict[str, int]:
        """Drop and recreate the projection's tables (all projections when `name` is None), then
        replay the log from the start."""
        chosen = self.chosen(None if name is None else [name])
        for projection in chosen:
            with self.db.transaction() as cursor:
                self._locked_position(cursor, projection.name)
                self._recreate(cursor, projection)
        return self.catch_up([p.name for p in chosen], should_stop=should_stop)

    # --- following -----------------------------------------------------------------------------

    def follow(self, stopping: threading.Event, *, poll_seconds: float = 1.0,
               caught_up: Callable[[dict[str, int]], None] = lambda positions: None) -> None:
        """Catch up, then wait for new events until `stopping` is set. PostgreSQL: woken by the
        event store's NOTIFY on its events table's channel, with polling as a fallback. SQLite
        has no notifications: polling only."""
        listener: Any = None
        if self.db.kind == "postgres":
            # LISTEN before the first catch-up, so a NOTIFY in between is queued, not lost.
            listener = self.db.listen(self.store.recorder.channel_name)
        try:
            while not stopping.is_set():
                caught_up(self.catch_up(should_stop=stopping.is_set))
                self._wait(listener, stopping, poll_seconds)
        finally:
            if listener is not None:
                listener.close()

    @staticmethod
    def _wait(listener: Any, stopping: threading.Event, poll_seconds: float) -> None:
        if listener is None:
            stopping.wait(poll_seconds)
            return
        # Short waits, so a stop request is seen promptly; any notification means "look again".
        waited = 0.0
        step = min(0.25, poll_seconds)
        while not stopping.is_set() and waited < poll_seconds:
            for _ in listener.notifies(timeout=step, stop_after=1):
                return
            waited += step

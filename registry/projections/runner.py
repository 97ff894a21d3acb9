"""Runs projections over the notification log: each batch of notifications is applied in ONE
transaction that also advances the projection's position, so a projection never applies an event
twice or skips one, whatever kills the process. Two runners on one database serialise on the
position row (PostgreSQL FOR UPDATE) or the file's write lock (SQLite BEGIN IMMEDIATE) and re-read
the position inside the transaction.

Why not eventsourcing's ProjectionRunner: it processes one event per transaction from a
subscription, which its SQLite recorder does not offer; on PostgreSQL, applying the same log one
event per transaction was measured many times slower than these batches (bench/projection_runner.py;
figures in docs/architecture.md). Batches of up to 1,000 notifications, each a few executemany
calls, are what make a rebuild of 100,000 events take seconds.

An event a projection cannot apply (a handler fails on it, or the database refuses its rows) must
not stop the world: the batch is rolled back and applied again one event per transaction, and the
one event that fails is quarantined: recorded with the reason in `projection_quarantine`, logged
as an error, and passed over, so every other question is still answered. Answers about the
aggregate it belongs to say they cannot be given (`quarantined`), never something false. A rebuild
after the cause is fixed applies it again. A database that is unreachable is not an event's fault:
such errors propagate, and nothing is quarantined."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any

import eventsourcing.persistence as es
import msgspec
import psycopg
from eventsourcing.persistence import Notification
from psycopg.errors import LockNotAvailable

from registry.errors import InputError
from registry.projections.projection import EventLog, Projection, Writes
from registry.store import Cursor, Database, EventStore, is_outage

BATCH_SIZE = 1000
# How long a runner waits for another runner's batch (the position row lock) before giving up.
LOCK_WAIT_SECONDS = 5.0
POSITIONS_DDL = ("CREATE TABLE IF NOT EXISTS projection_positions ("
                 " name TEXT PRIMARY KEY, position BIGINT NOT NULL, version INTEGER NOT NULL DEFAULT 1)")
SET_POSITION = "UPDATE projection_positions SET position = ? WHERE name = ?"
QUARANTINE_DDL = ("CREATE TABLE IF NOT EXISTS projection_quarantine ("
                  " name TEXT NOT NULL, position BIGINT NOT NULL, originator_id TEXT NOT NULL, topic TEXT NOT NULL,"
                  " reason TEXT NOT NULL, at TEXT NOT NULL, PRIMARY KEY (name, position))")
# The database's own failures (unreachable, a table or a privilege missing) are not an event's
# fault; what it refuses of the rows an event became (NUL in text, a number out of range, a
# constraint) is.
_DATABASE = (psycopg.Error, sqlite3.Error, es.PersistenceError)
_EVENT_DATA = (psycopg.DataError, psycopg.IntegrityError, sqlite3.DataError, sqlite3.IntegrityError,
               es.DataError, es.IntegrityError)
MAX_REASON = 500
TABLES = ("projection_positions", "projection_quarantine")
OUTAGE_RETRY_SECONDS = 0.5  # a follower's pause before it tries an unreachable database again  # the runner's own bookkeeping

log = logging.getLogger("registry.projections")


_PRIVILEGES = frozenset({"SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"})


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


class ReadStoreError(RuntimeError):
    """The read models cannot be used as they are (tables of another version, no DDL rights)."""


class Quarantined(msgspec.Struct, frozen=True):
    """An event a projection could not apply and passed over."""

    position: int
    originator_id: str
    topic: str
    reason: str
    at: str  # when it was quarantined (ISO 8601 UTC)


class ProjectionStatus(msgspec.Struct, frozen=True):
    name: str
    position: int  # the last notification id this projection has checked
    lag: int  # notifications logged after it
    quarantined: list[Quarantined] = []


class _BatchFailed(Exception):
    def __init__(self, notifications: list[Notification], cause: Exception) -> None:
        super().__init__(str(cause))
        self.notifications = notifications
        self.cause = cause


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
        try:
            self._check_versions()
            return []  # all in place: no DDL, whose table locks would wait on a running follower's writes
        except ReadStoreError:
            pass
        rebuilt = []
        with self.db.transaction() as cursor:
            if self.db.kind == "postgres":
                # Concurrent first starts would race on CREATE TABLE IF NOT EXISTS.
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('registry projections ddl'))")
            cursor.execute(POSITIONS_DDL)
            cursor.execute(QUARANTINE_DDL)
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
            self.db.query("SELECT 1 FROM projection_quarantine LIMIT 1")
        except Exception as exc:  # the table or its version column is missing
            raise ReadStoreError(
                "the read-model tables are missing or predate this version's; run "
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
        granted = self._grants(cursor, projection.tables)
        for table in projection.tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        self._create(cursor, projection)
        for table, role, privileges in granted:  # the application role keeps its rights
            cursor.execute(f"GRANT {', '.join(privileges)} ON {table} TO {_quoted(role)}")
        cursor.execute("UPDATE projection_positions SET position = 0, version = ? WHERE name = ?",
                       (projection.version, projection.name))
        # Replayed from the start: what was passed over is applied again (or quarantined again).
        cursor.execute("DELETE FROM projection_quarantine WHERE name = ?", (projection.name,))

    def _grants(self, cursor: Cursor, tables: Iterable[str]) -> list[tuple[str, str, list[str]]]:
        """PostgreSQL: what other roles may do with these tables, to grant again after a rebuild."""
        if self.db.kind != "postgres":
            return []
        found = []
        for table in tables:
            rows = cursor.execute(
                "SELECT r.rolname, a.privilege_type FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a"
                " JOIN pg_roles r ON r.oid = a.grantee WHERE c.oid = to_regclass(?) AND a.grantee <> c.relowner",
                (table,))
            by_role: dict[str, list[str]] = {}
            for role, privilege in rows:
                if privilege in _PRIVILEGES:
                    by_role.setdefault(role, []).append(privilege)
            found += [(table, role, sorted(set(privileges))) for role, privileges in by_role.items()]
        return found

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
        held: dict[str, list[Quarantined]] = {}
        for name, *row in self.db.query("SELECT name, position, originator_id, topic, reason, at"
                                        " FROM projection_quarantine ORDER BY name, position"):
            held.setdefault(name, []).append(Quarantined(*row))
        return [ProjectionStatus(name, position, max(latest - position, 0), held.get(name, []))
                for name, position in self.positions().items()]

    def quarantine_count(self) -> int:
        return self.db.query("SELECT count(*) FROM projection_quarantine")[0][0]

    def quarantined(self, originator_id: str) -> Quarantined | None:
        """The first event of this aggregate a projection passed over, if any: answers about it
        would leave that event out."""
        rows = self.db.query("SELECT position, originator_id, topic, reason, at FROM projection_quarantine"
                             " WHERE originator_id = ? ORDER BY position LIMIT 1", (originator_id,))
        return Quarantined(*rows[0]) if rows else None

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
        size = self.batch_size
        isolating_until = 0  # after a failed batch: one event per transaction up to its end
        while True:
            try:
                position, checked = self._apply_batch(projection, stop, should_stop, size)
            except _BatchFailed as failed:
                if len(failed.notifications) > 1:
                    size, isolating_until = 1, failed.notifications[-1].id
                else:
                    self._quarantine(projection, failed.notifications[0], failed.cause)
                continue
            if checked is None:
                return position
            if size == 1 and checked >= isolating_until:
                size = self.batch_size
            if checked >= stop:
                return checked

    def _apply_batch(self, projection: Projection, stop: int, should_stop: Callable[[], bool],
                     size: int) -> tuple[int, int | None]:
        """(position, the position checked up to), or (position, None) when there was nothing to
        do. _BatchFailed when an event could not be applied (the transaction rolled back)."""
        notifications: list[Notification] = []
        try:
            with self.db.transaction() as cursor:
                position = self._locked_position(cursor, projection.name)
                if position >= stop or should_stop():
                    return position, None
                notifications = list(self.store.recorder.select_notifications(
                    start=position + 1, limit=size, stop=stop, topics=projection.topics))
                # A short page means every notification up to `stop` was checked, matched or not.
                checked = notifications[-1].id if len(notifications) == size else stop
                writes = Writes()
                to_domain_event = self.store.mapper.to_domain_event
                for notification in notifications:
                    projection.handler(notification.topic)(
                        writes, notification.id, to_domain_event(notification), self.log)
                writes.flush(cursor)
                cursor.execute(SET_POSITION, (checked, projection.name))
            return position, checked
        except Exception as exc:
            if not notifications or isinstance(exc, ReadStoreError) or (
                    isinstance(exc, _DATABASE) and not isinstance(exc, _EVENT_DATA)):
                raise
            raise _BatchFailed(notifications, exc) from exc

    def _quarantine(self, projection: Projection, notification: Notification, cause: Exception) -> None:
        first_line = (str(cause).strip().splitlines() or [""])[0]
        reason = f"{type(cause).__name__}: {first_line}".replace("\x00", "\\x00")[:MAX_REASON]
        log.error("projection %s quarantined the event at position %d (%s of %s): %s; answers about that "
                  "aggregate are withheld until a rebuild applies it", projection.name, notification.id,
                  notification.topic, notification.originator_id, reason, exc_info=cause)
        with self.db.transaction() as cursor:
            position = self._locked_position(cursor, projection.name)
            if position >= notification.id:
                return  # another runner got past it meanwhile
            cursor.execute("INSERT INTO projection_quarantine (name, position, originator_id, topic, reason, at)"
                           " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                           (projection.name, notification.id, str(notification.originator_id),
                            notification.topic, reason, datetime.now(timezone.utc).isoformat()))
            cursor.execute(SET_POSITION, (notification.id, projection.name))

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
        has no notifications: polling only. While the database is out of reach the runner waits
        and tries again (LISTENing afresh), so it outlives a database restart."""
        listener: Any = None
        try:
            while not stopping.is_set():
                try:
                    if listener is None and self.db.kind == "postgres":
                        # LISTEN before catching up, so a NOTIFY in between is queued, not lost.
                        listener = self.db.listen(self.store.recorder.channel_name)
                    caught_up(self.catch_up(should_stop=stopping.is_set))
                    self._wait(listener, stopping, poll_seconds)
                except Exception as exc:
                    if not is_outage(exc):
                        raise
                    log.warning("projections: the database is out of reach (%s); trying again in %g s",
                                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
                                OUTAGE_RETRY_SECONDS)
                    if listener is not None:
                        listener.close()
                        listener = None
                    stopping.wait(OUTAGE_RETRY_SECONDS)
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

"""Runs projections over the notification log: each batch of notifications is applied in ONE
transaction that also advances the projection's position, so a projection never applies an event
twice or skips one, whatever kills the process. Two runners on one database serialise on the
position row (PostgreSQL FOR UPDATE) or the write lock (SQLite BEGIN IMMEDIATE) and re-read the
position inside the transaction."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

import msgspec

from registry.projections.projection import EventLog, Projection, Writes
from registry.projections.store import ReadStore

BATCH_SIZE = 1000
POSITIONS_DDL = ("CREATE TABLE IF NOT EXISTS projection_positions ("
                 " name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
ADD_POSITION = "INSERT INTO projection_positions (name, position) VALUES (?, 0) ON CONFLICT (name) DO NOTHING"
SET_POSITION = "UPDATE projection_positions SET position = ? WHERE name = ?"


class ProjectionStatus(msgspec.Struct, frozen=True):
    name: str
    position: int  # the last notification id this projection has checked
    lag: int  # notifications logged after it


class Runner:
    def __init__(self, app: Any, store: ReadStore, projections: Iterable[Projection], *,
                 batch_size: int = BATCH_SIZE, create_tables: bool = True) -> None:
        if batch_size < 1:
            raise ValueError(f"the batch size must be at least 1, not {batch_size}")
        self.app = app
        self.store = store
        self.projections = {p.name: p for p in projections}
        self.batch_size = batch_size
        self.log = EventLog(app)
        if create_tables:
            self.create_tables()

    # --- tables ------------------------------------------------------------------------------

    def create_tables(self) -> None:
        with self.store.write() as (cursor, _):
            if self.store.kind == "postgres":
                # Concurrent first starts would race on CREATE TABLE IF NOT EXISTS.
                cursor.execute("SELECT pg_advisory_xact_lock(hashtext('registry projections ddl'))")
            cursor.execute(POSITIONS_DDL)
            for projection in self.projections.values():
                for statement in projection.ddl:
                    cursor.execute(statement)
                cursor.execute(ADD_POSITION, (projection.name,))

    def projection(self, name: str) -> Projection:
        try:
            return self.projections[name]
        except KeyError:
            raise ValueError(
                f"no projection {name!r}: one of {', '.join(self.projections)}") from None

    def chosen(self, names: Iterable[str] | None) -> list[Projection]:
        return list(self.projections.values()) if names is None else [self.projection(n) for n in names]

    # --- positions -----------------------------------------------------------------------------

    def positions(self) -> dict[str, int]:
        rows = self.store.query("SELECT name, position FROM projection_positions")
        found = dict(rows)
        return {name: found.get(name, 0) for name in self.projections}

    def max_position(self) -> int:
        return self.app.recorder.max_notification_id() or 0

    def status(self) -> list[ProjectionStatus]:
        latest = self.max_position()
        return [ProjectionStatus(name, position, max(latest - position, 0))
                for name, position in self.positions().items()]

    # --- catching up ---------------------------------------------------------------------------

    def catch_up(self, projections: Iterable[str] | None = None, until_position: int | None = None,
                 should_stop: Callable[[], bool] = lambda: False) -> dict[str, int]:
        """Apply every notification up to `until_position` (default: the last one logged now).
        Returns each chosen projection's position afterwards."""
        chosen = self.chosen(projections)
        latest = self.max_position()
        # Never past what is logged: a position claims every notification up to it was checked.
        stop = latest if until_position is None else min(until_position, latest)
        positions = self.positions()
        for projection in chosen:
            if positions[projection.name] < stop:
                positions[projection.name] = self._catch_up_one(projection, stop, should_stop)
        return {p.name: positions[p.name] for p in chosen}

    def _catch_up_one(self, projection: Projection, stop: int, should_stop: Callable[[], bool]) -> int:
        while True:
            with self.store.write(position_of=projection.name) as (cursor, position):
                if position >= stop or should_stop():
                    return position
                notifications = self.app.recorder.select_notifications(
                    start=position + 1, limit=self.batch_size, stop=stop, topics=projection.topics)
                # A short page means every notification up to `stop` was checked, matched or not.
                checked = notifications[-1].id if len(notifications) == self.batch_size else stop
                writes = Writes()
                to_domain_event = self.app.mapper.to_domain_event
                for notification in notifications:
                    event = to_domain_event(notification)
                    projection.handler(notification.topic)(writes, notification.id, event, self.log)
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
            with self.store.write(position_of=projection.name) as (cursor, _):
                for table in projection.tables:
                    cursor.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in projection.ddl:
                    cursor.execute(statement)
                cursor.execute(SET_POSITION, (0, projection.name))
        return self.catch_up([p.name for p in chosen], should_stop=should_stop)

    # --- following -----------------------------------------------------------------------------

    def follow(self, stopping: threading.Event, *, poll_seconds: float = 1.0,
               caught_up: Callable[[dict[str, int]], None] = lambda positions: None) -> None:
        """Catch up, then wait for new events until `stopping` is set. PostgreSQL: woken by the
        event store's NOTIFY on its events table's channel, with polling as a fallback. SQLite
        has no notifications: polling only."""
        listener = None
        if self.store.kind == "postgres":
            # LISTEN before the first catch-up, so a NOTIFY in between is queued, not lost.
            listener = self.store.listen(self.app.recorder.channel_name)
        try:
            while not stopping.is_set():
                caught_up(self.catch_up(should_stop=stopping.is_set))
                self._wait(listener, stopping, poll_seconds)
        finally:
            if listener is not None:
                listener.close()

    @staticmethod
    def _wait(listener, stopping: threading.Event, poll_seconds: float) -> None:
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

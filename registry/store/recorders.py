"""The library's recorders with the two things the registry needs of an insert:

1. **A write and its answer in one transaction.** Inside `EventStore.holding()`, the events a
   command saves are inserted in a transaction that stays open until the caller has recorded its
   answer in it (`Held.finish`, e.g. the idempotency record with the response body), and only then
   commits. After any crash either both are stored or neither: a retry with the same idempotency
   key gets the stored answer or performs the write, never both.
2. **Reads that fail fast (PostgreSQL)**: without the library's ten retries, see `_once`.
3. **The transparency log's leaves and nodes in the same transaction** as the events they log
   (registry.log.storage.LogWriter), under the lock that serialises inserts: gapless, and in
   notification order on both stores.
4. **Large writes that never hang (PostgreSQL).** The library sends all of a save's events as one
   array parameter in pipeline mode; with thousands of events (a 1,000-row CSV batch is about
   3,250) the client and server have been seen waiting on each other forever. Here the events go
   in statements of at most CHUNK events, without the pipeline, in one transaction that takes the
   insert lock once: all or nothing as before.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from typing import Any, TypeVar

import eventsourcing.persistence as es
from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresAggregateRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from psycopg.sql import SQL, Identifier

from registry.log.storage import SQLITE_DDL, LogWriter, postgres_ddl
from registry.store.append_only import AppendOnlyPostgresRecorder

CHUNK = 500  # events per INSERT statement on PostgreSQL
T = TypeVar("T")


class Held:
    """A write transaction kept open across `EventStore.commit` calls until `finish` (commit after
    the last statements) or `abandon` (roll back). At most one per thread at a time."""

    def __init__(self) -> None:
        self._stack: ExitStack | None = None
        self._cursor: Any = None
        self._recorder: Any = None
        self.written = False  # whether any event was inserted in it
        self.committed = False  # whether finish() committed events

    def cursor(self, recorder: Any, opener: Callable[[ExitStack], Any]) -> Any:
        """The open transaction's cursor, opening it through `opener(stack)` on first use."""
        if self._stack is None:
            stack = ExitStack()
            try:
                self._cursor = opener(stack)
            except BaseException:
                stack.close()
                raise
            self._stack, self._recorder = stack, recorder
        return self._cursor

    def insert(self, recorder: Any, opener: Callable[[ExitStack], Any], insert: Callable[[Any], T]) -> T:
        """Run `insert(cursor)` in the held transaction (opened on first use); a failure rolls the
        transaction back, so the next attempt (a retried command) starts afresh."""
        cursor = self.cursor(recorder, opener)
        try:
            result = insert(cursor)
        except BaseException as exc:
            self.reset(exc)
            raise
        self.written = True
        return result

    def reset(self, exc: BaseException) -> None:
        stack, self._stack, self._cursor, self.written = self._stack, None, None, False
        if stack is not None:
            stack.__exit__(type(exc), exc, exc.__traceback__)

    def finish(self, statement: str, params: Sequence[Any]) -> int:
        """Run one last statement (`?` placeholders, `{table}` schema-qualified by the recorder)
        in the transaction, then commit. The statement's row count; with no write held it is not
        run (0): the caller records its answer on its own then."""
        if self._stack is None:
            return 0
        stack, cursor = self._stack, self._cursor
        self._stack = self._cursor = None
        try:
            count = self._recorder.execute_held(cursor, statement, params)
        except BaseException as exc:
            stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        if count == 0:
            _rollback(stack)
            return 0
        stack.close()  # commits
        self.committed = True
        return count

    def abandon(self) -> None:
        if self._stack is not None:
            stack, self._stack, self._cursor = self._stack, None, None
            _rollback(stack)


class _Abandoned(Exception):
    pass


def _rollback(stack: ExitStack) -> None:
    """Leave the held transaction's context managers with an exception, so they roll back."""
    try:
        stack.__exit__(_Abandoned, _Abandoned(), None)
    except _Abandoned:
        pass


class RegistrySQLiteRecorder(SQLiteApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.create_table_statements.extend(SQLITE_DDL)
        self.log = LogWriter(postgres=False, events_table=self.events_table_name)

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        self.log.append(c, stored_events, positions)
        return positions

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        held: Held | None = kwargs.pop("held", None)
        if held is None:
            return super().insert_events(stored_events, **kwargs)
        return held.insert(self, lambda stack: stack.enter_context(self.datastore.transaction(commit=True)),
                           lambda cursor: self._insert_events(cursor, stored_events, **kwargs))

    def execute_held(self, cursor: Any, statement: str, params: Sequence[Any]) -> int:
        cursor.execute(statement.format(table="api_idempotency"), params)
        return cursor.sqlite_cursor.rowcount


def _once(method: Callable) -> Callable:
    """The library's read with one retry instead of its ten (each waiting for a connection: during
    an outage a read hung half a minute before failing). A connection a restart broke fails the
    first try; the pool then checks every idle connection in this thread (dropping the broken
    ones) and the read is tried once more. The pool does not test connections on checkout: after a
    restart its check-on-checkout pauses 1 s, then 2 s, between broken connections."""
    original = getattr(method, "__wrapped__", method)

    @functools.wraps(original)
    def read(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return original(self, *args, **kwargs)
        except (es.OperationalError, es.InterfaceError):
            self.datastore.pool.check()
            return original(self, *args, **kwargs)
    return read


class RegistryPostgresRecorder(AppendOnlyPostgresRecorder):
    select_events = _once(AppendOnlyPostgresRecorder.select_events)
    select_notifications = _once(AppendOnlyPostgresRecorder.select_notifications)
    max_notification_id = _once(AppendOnlyPostgresRecorder.max_notification_id)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sql_create_statements.extend(SQL(s.replace("{", "{{").replace("}", "}}"))
                                          for s in postgres_ddl(self.datastore.schema))
        # Processes starting at once (workers, hosts) run these one after the other: two replacing
        # the same function at once collide ("tuple concurrently updated").
        self.sql_create_statements.insert(0, SQL("SELECT pg_advisory_xact_lock(hashtext({}))").format(
            f"badge-registry tables {self.datastore.schema}"))
        self.log = LogWriter(postgres=True, events_table=self.events_table_name, schema=self.datastore.schema)

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        held: Held | None = kwargs.pop("held", None)
        if held is None:
            with ExitStack() as stack:
                return self._insert_chunked(self._open(stack), stored_events, **kwargs)
        return held.insert(self, self._open, lambda cursor: self._insert_chunked(cursor, stored_events, **kwargs))

    def _open(self, stack: ExitStack) -> Any:
        connection = stack.enter_context(self.datastore.get_connection())
        stack.enter_context(connection.transaction())
        return stack.enter_context(connection.cursor())

    def _insert_chunked(self, cursor: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        self._insert_events(cursor, stored_events, **kwargs)
        if not stored_events:
            return []
        self._lock_table(cursor)
        self._notify_channel(cursor)
        ids: list[int] = []
        for start in range(0, len(stored_events), CHUNK):
            chunk = stored_events[start:start + CHUNK]
            PostgresAggregateRecorder._insert_stored_events(self, cursor, chunk)
            ids.extend(self._fetch_ids_after_insert_events(cursor, chunk))
        self.log.append(cursor, stored_events, ids)
        return ids

    def execute_held(self, cursor: Any, statement: str, params: Sequence[Any]) -> int:
        table = SQL("{}.{}").format(Identifier(self.datastore.schema), Identifier("api_idempotency"))
        cursor.execute(SQL(statement.replace("?", "%s").replace("{table}", "{0}")).format(table), params)
        return cursor.rowcount

"""The read store: plain SQL on the database that holds the event store (a second connection to
the same SQLite file, or a psycopg connection with the same PostgreSQL settings).

Statements are written once with `?` placeholders; the PostgreSQL adapter rewrites them to `%s`.
Times are ISO 8601 UTC text with microseconds (`moment`), so "as of T" is an exact string
comparison on both databases.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Any

import psycopg

# How long a writer waits for another runner's batch (the position row lock) before giving up.
LOCK_WAIT_SECONDS = 5.0
# SQLite: how long a statement waits for the single write lock (commands hold it briefly).
SQLITE_BUSY_SECONDS = 30.0
_ZERO = timedelta(0)


class ReadStoreError(RuntimeError):
    """The read store cannot be opened on this event store."""


def moment(when: datetime) -> str:
    """Sortable UTC text with microseconds, e.g. 2026-05-01T12:00:00.000000+00:00."""
    if when.tzinfo is None:
        raise ValueError(f"the instant {when.isoformat()} needs a timezone (e.g. ...T12:00:00Z)")
    if when.utcoffset() != _ZERO:
        when = when.astimezone(timezone.utc)
    return when.isoformat(timespec="microseconds")


def optional_moment(when: datetime | None) -> str | None:
    return None if when is None else moment(when)


class ReadStore:
    """One connection, serialised by a lock (queries and catch-up may come from several threads)."""

    kind = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def write(self, position_of: str | None = None) -> Any:
        """A write transaction (context manager) yielding (cursor, position). With `position_of`,
        the projection's position row is locked and read inside the transaction."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class SQLiteReadStore(ReadStore):
    kind = "sqlite"

    def __init__(self, path: str) -> None:
        super().__init__()
        # Autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE for writes).
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                          timeout=SQLITE_BUSY_SECONDS)
        # WAL (the event store set it already); NORMAL sync keeps every committed batch across a
        # process crash, and a lost tail after power loss is replayed: positions commit with rows.
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.execute("PRAGMA synchronous=NORMAL")

        self._cursor = self.connection.cursor()  # reused by queries: lookups are the hot path

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.lock:
            return self._cursor.execute(sql, params).fetchall()

    def data_version(self) -> int:
        """Changes whenever another connection (any process) commits to the file."""
        with self.lock:
            return self._cursor.execute("PRAGMA data_version").fetchone()[0]

    @contextmanager
    def write(self, position_of: str | None = None) -> Iterator[tuple[_SQLiteCursor, int | None]]:
        with self.lock:
            # IMMEDIATE takes the database's write lock now, so two runners serialise here and
            # the position read below is the one this transaction will advance.
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                cursor = _SQLiteCursor(self.connection)
                position = None
                if position_of is not None:
                    position = cursor.position(position_of)
                yield cursor, position
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.connection.close()


class _SQLiteCursor:
    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        return self.connection.execute(sql, params).fetchall()

    def executemany(self, sql: str, rows: list[Sequence[Any]]) -> None:
        self.connection.executemany(sql, rows)

    def position(self, name: str) -> int:
        row = self.connection.execute(
            "SELECT position FROM projection_positions WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ReadStoreError(f"no position row for projection {name!r}")
        return row[0]


class PostgresReadStore(ReadStore):
    kind = "postgres"

    def __init__(self, connect_kwargs: dict[str, Any]) -> None:
        super().__init__()
        self.connect_kwargs = connect_kwargs
        self.connection = psycopg.connect(**connect_kwargs, autocommit=True)
        self._statements: dict[str, str] = {}

    def sql(self, statement: str) -> str:
        try:
            return self._statements[statement]
        except KeyError:
            converted = self._statements[statement] = statement.replace("?", "%s")
            return converted

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self.lock:
            cursor = self.connection.execute(self.sql(sql), params)
            return cursor.fetchall() if cursor.description else []

    @contextmanager
    def write(self, position_of: str | None = None) -> Iterator[tuple[_PostgresCursor, int | None]]:
        with self.lock, self.connection.transaction(), self.connection.cursor() as raw:
            raw.execute(f"SET LOCAL lock_timeout = '{int(LOCK_WAIT_SECONDS * 1000)}ms'")
            cursor = _PostgresCursor(self, raw)
            position = None
            if position_of is not None:
                # The row lock makes a second runner wait for this batch, then read the position
                # this one committed (READ COMMITTED re-reads a row it waited for).
                try:
                    position = cursor.position(position_of, lock=True)
                except psycopg.errors.LockNotAvailable:
                    raise ReadStoreError(
                        f"projection {position_of!r} stayed locked by another runner for more "
                        f"than {LOCK_WAIT_SECONDS:g} s") from None
            yield cursor, position

    def listen(self, channel: str) -> psycopg.Connection:
        """A separate connection LISTENing on `channel` (the event store NOTIFYs on inserts)."""
        connection = psycopg.connect(**self.connect_kwargs, autocommit=True)
        connection.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel)))
        return connection

    def close(self) -> None:
        with self.lock:
            self.connection.close()


class _PostgresCursor:
    def __init__(self, store: PostgresReadStore, cursor: psycopg.Cursor) -> None:
        self.store = store
        self.cursor = cursor

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        self.cursor.execute(self.store.sql(sql), params)
        return self.cursor.fetchall() if self.cursor.description else []

    def executemany(self, sql: str, rows: list[Sequence[Any]]) -> None:
        self.cursor.executemany(self.store.sql(sql), rows)

    def position(self, name: str, *, lock: bool = False) -> int:
        rows = self.execute("SELECT position FROM projection_positions WHERE name = ?"
                            + (" FOR UPDATE" if lock else ""), (name,))
        if not rows:
            raise ReadStoreError(f"no position row for projection {name!r}")
        return rows[0][0]


def open_read_store(app: Any) -> ReadStore:
    """The read store over `app`'s event store, from the same eventsourcing settings."""
    env = app.env
    module = env.get("PERSISTENCE_MODULE") or ""
    if module == "eventsourcing.sqlite":
        path = env.get("SQLITE_DBNAME") or ""
        if not path or ":memory:" in path or "mode=memory" in path:
            raise ReadStoreError("projections need an SQLite file (not an in-memory database)")
        return SQLiteReadStore(path)
    if module == "eventsourcing.postgres":
        kwargs: dict[str, Any] = {
            "dbname": env.get("POSTGRES_DBNAME"), "host": env.get("POSTGRES_HOST"),
            "port": env.get("POSTGRES_PORT") or "5432", "user": env.get("POSTGRES_USER"),
            "password": env.get("POSTGRES_PASSWORD") or None,
        }
        schema = env.get("POSTGRES_SCHEMA")
        if schema:
            kwargs["options"] = f"-c search_path={schema}"
        return PostgresReadStore(kwargs)
    raise ReadStoreError(
        f"projections need the SQLite or PostgreSQL event store, not {module or 'in-memory'}")

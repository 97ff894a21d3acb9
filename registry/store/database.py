"""Plain SQL on the registry's own database, beside the event store: the read models and the access
tables (API keys, idempotency records) use it.

Statements are written once with `?` placeholders; on PostgreSQL they are translated to `%s` here
and nowhere else. SQLite: a file (WAL, as the event store set it); writes take the file's write
lock at BEGIN (IMMEDIATE), so two writers serialise instead of failing mid-transaction.
PostgreSQL: the same settings as the event store, `search_path` set to its schema; connections
from `Connections`. A connection the server closed (a restart) is not handed out again: a read
that meets one drops the idle ones and is asked once more on a new connection; a write is not
repeated (its caller gets 503 and may retry). While the server is down a request fails within
CONNECT_SECONDS; the first one after it is back connects.
A transaction's connection is the thread's for its duration: a query inside it sees its writes."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import psycopg.pq
import psycopg.sql

from registry.errors import ConfigurationError
from registry.store.settings import (
    CONNECT_SECONDS,
    POOL_SIZE,
    StoreSettings,
    prepare_side_file,
    prepare_sqlite,
)

# SQLite: how long a statement waits for the file's write lock (commands hold it briefly).
SQLITE_BUSY_SECONDS = 10.0


class Cursor:
    """What a transaction offers: statements with `?` placeholders, rows as tuples."""

    def __init__(self, database: Database, raw: Any) -> None:
        self._database = database
        self._raw = raw
        self.rowcount = 0

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        self._raw.execute(self._database.sql(sql), params)
        self.rowcount = self._raw.rowcount
        return [tuple(row) for row in self._raw.fetchall()] if self._raw.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._raw.executemany(self._database.sql(sql), rows)


class Database:
    kind = ""

    def __init__(self) -> None:
        self.lock = threading.RLock()

    def sql(self, statement: str) -> str:
        return statement

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        raise NotImplementedError
        yield

    def close(self) -> None:
        raise NotImplementedError


class SQLiteDatabase(Database):
    kind = "sqlite"

    def __init__(self, path: str) -> None:
        super().__init__()
        # Autocommit mode: transactions are opened explicitly (BEGIN IMMEDIATE).
        self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                          timeout=SQLITE_BUSY_SECONDS)
        # NORMAL sync keeps every committed transaction across a process crash; a tail lost to
        # power loss is replayed by the projections, whose positions commit with their rows.
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
    def transaction(self) -> Iterator[Cursor]:
        with self.lock:
            self.connection.execute("BEGIN IMMEDIATE")
            try:
                yield Cursor(self, self.connection.cursor())
            except BaseException:
                self.connection.execute("ROLLBACK")
                raise
            self.connection.execute("COMMIT")

    def close(self) -> None:
        with self.lock:
            self.connection.close()


class Connections:
    """PostgreSQL connections on demand: an idle one is reused (the most recent first), a new one is
    made when none is idle, at most `size` are in use at once (a caller waits CONNECT_SECONDS for
    one, then gets an OperationalError: 503), and one that broke is dropped when given back. No
    background threads and no back-off: the first request after a restart connects at once.
    (psycopg_pool's background reconnection kept requests waiting seconds after the server was
    back, measured by bench/faults.py; the event store keeps the library's pool, with pre-ping.)"""

    def __init__(self, connect_kwargs: dict[str, Any], size: int) -> None:
        self.connect_kwargs = {**connect_kwargs, "autocommit": True, "connect_timeout": CONNECT_SECONDS}
        self._idle: list[psycopg.Connection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection]:
        if not self._slots.acquire(timeout=CONNECT_SECONDS):
            raise psycopg.OperationalError(f"no database connection free within {CONNECT_SECONDS} s")
        try:
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None or connection.closed:
                connection = psycopg.connect(**self.connect_kwargs)
            try:
                yield connection
            finally:
                if connection.broken or connection.closed or \
                        connection.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                    connection.close()
                else:
                    with self._lock:
                        self._idle.append(connection)
        finally:
            self._slots.release()

    def discard_idle(self) -> None:
        """After a connection failed: the idle ones most likely broke with it (a restart)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def close(self) -> None:
        self.discard_idle()


class PostgresDatabase(Database):
    kind = "postgres"

    def __init__(self, connect_kwargs: dict[str, Any], pool_size: int = POOL_SIZE, *,
                 listen: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.connect_kwargs = connect_kwargs
        self._listen_kwargs = listen or connect_kwargs  # LISTEN needs a session
        self.pool = Connections(connect_kwargs, pool_size)
        with self.pool.connection():
            pass  # connects now: a wrong URL is said at start-up
        self._held = threading.local()  # the connection of this thread's open transaction
        self._statements: dict[str, str] = {}

    def sql(self, statement: str) -> str:
        try:
            return self._statements[statement]
        except KeyError:
            converted = self._statements[statement] = statement.replace("?", "%s")
            return converted

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        held = getattr(self._held, "connection", None)
        if held is not None:
            return self._run(held, sql, params)
        try:
            with self.pool.connection() as connection:
                return self._run(connection, sql, params)
        except psycopg.OperationalError:
            self.pool.discard_idle()
            if not sql.lstrip()[:6].upper() == "SELECT":
                raise
            # Most likely a connection the server closed while idle (a restart): ask once more on
            # a new one (which fails at once if the server itself is down).
            with self.pool.connection() as connection:
                return self._run(connection, sql, params)

    def _run(self, connection: psycopg.Connection, sql: str, params: Sequence[Any]) -> list[tuple]:
        cursor = connection.execute(self.sql(sql), params)
        return cursor.fetchall() if cursor.description else []

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        held = getattr(self._held, "connection", None)
        if held is not None:  # nested: a savepoint on the thread's connection
            with held.transaction(), held.cursor() as raw:
                yield Cursor(self, raw)
            return
        with self.pool.connection() as connection:
            self._held.connection = connection
            try:
                with connection.transaction(), connection.cursor() as raw:
                    yield Cursor(self, raw)
            except psycopg.OperationalError:
                self.pool.discard_idle()
                raise
            finally:
                self._held.connection = None

    def listen(self, channel: str) -> psycopg.Connection:
        """A separate connection LISTENing on `channel` (the event store NOTIFYs on inserts)."""
        connection = psycopg.connect(**self._listen_kwargs, autocommit=True, connect_timeout=CONNECT_SECONDS)
        connection.execute(psycopg.sql.SQL("LISTEN {}").format(psycopg.sql.Identifier(channel)))
        return connection

    def close(self) -> None:
        self.pool.close()


def open_database(settings: StoreSettings, *, side: str | None = None) -> Database:
    """A connection to the database the event store lives in. With `side` (SQLite only): a file of
    its own beside it, `<home>/<side>.sqlite`, for bookkeeping every request may write (rate
    limits), so that it never waits for the event store's write lock, nor holds it up. On
    PostgreSQL everything shares the one database, which every host reaches."""
    if settings.database == "sqlite":
        if side is not None:
            return SQLiteDatabase(str(prepare_side_file(settings, side)))
        prepare_sqlite(settings)
        return SQLiteDatabase(str(settings.sqlite_path))
    kwargs = _connect_kwargs(settings)
    listen = None
    if settings.session is not None:
        # The main URL may pool by transaction (PgBouncer): a statement prepared on one server
        # connection is unknown on the next, so nothing is prepared; LISTEN needs the session.
        kwargs["prepare_threshold"] = None
        listen = _connect_kwargs(settings.session)
    try:
        psycopg.connect(**kwargs, connect_timeout=CONNECT_SECONDS).close()  # says why it cannot connect
        return PostgresDatabase(kwargs, listen=listen)
    except psycopg.OperationalError as exc:
        raise ConfigurationError("REGISTRY_DATABASE_URL",
                                 f"cannot connect to PostgreSQL: {str(exc).strip().splitlines()[0]}") from None


def _connect_kwargs(settings: StoreSettings) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "dbname": settings.pg_dbname, "host": settings.pg_host, "port": settings.pg_port,
        "user": settings.pg_user, "password": settings.pg_password or None,
    }
    if settings.pg_schema:
        kwargs["options"] = f"-c search_path={settings.pg_schema}"
    return kwargs

"""Plain SQL on the registry's own database, beside the event store, for the HTTP API's private
tables (API keys, idempotency records). They are kept out of the event log on purpose: the log is
public and must carry no secrets, and these rows change (a key is revoked, a record expires).

The connection comes from the event store's datastore, so SQLite and PostgreSQL, pooling and the
schema setting are whatever the store was opened with. Statements are written with `?`
placeholders and translated for psycopg."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from registry.application import Registry


class Sql:
    def __init__(self, registry: Registry) -> None:
        self.datastore = registry.recorder.datastore
        self.postgres = type(self.datastore).__name__.startswith("Postgres")
        schema = getattr(self.datastore, "schema", "") if self.postgres else ""
        self.prefix = f'"{schema}".' if schema else ""

    def table(self, name: str) -> str:
        return f"{self.prefix}{name}"

    @contextmanager
    def transaction(self) -> Iterator[_Cursor]:
        with self.datastore.transaction(commit=True) as cursor:
            yield _Cursor(cursor, self.postgres)

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.transaction() as cursor:
            return cursor.execute(statement, params)


class _Cursor:
    def __init__(self, cursor: Any, postgres: bool) -> None:
        # The library wraps sqlite3's cursor; the raw one has description and rowcount.
        self.cursor = getattr(cursor, "sqlite_cursor", cursor)
        self.postgres = postgres
        self.rowcount = 0

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        if self.postgres:
            statement = statement.replace("?", "%s")
        self.cursor.execute(statement, params)
        self.rowcount = self.cursor.rowcount
        if self.cursor.description is None:  # a statement without a result set
            return []
        rows = self.cursor.fetchall()
        # psycopg rows are dicts here (the library's row factory), sqlite3 rows tuples.
        return [tuple(row.values()) if isinstance(row, dict) else tuple(row) for row in rows]

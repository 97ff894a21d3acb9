"""The `extension_contexts` projection: the JSON-LD contexts the operator registered, with their
exact text, by URL and by SHA-256, in the order they were registered."""

from __future__ import annotations

import msgspec

from registry.domain import ExtensionContext
from registry.projections.projection import Projection, moment
from registry.store import Database

DDL = (
    "CREATE TABLE IF NOT EXISTS extension_contexts ("
    " url TEXT PRIMARY KEY, sha256 TEXT NOT NULL, document TEXT NOT NULL, actor TEXT NOT NULL,"
    " registered_at TEXT NOT NULL, position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS extension_contexts_by_sha256 ON extension_contexts (sha256, position)",
)
INSERT = ("INSERT INTO extension_contexts (url, sha256, document, actor, registered_at, position)"
          " VALUES (?, ?, ?, ?, ?, ?)")


def registered(writes, position, event: ExtensionContext.Registered, log) -> None:
    writes.add(INSERT, (event.url, event.sha256, event.document, event.actor, moment(event.timestamp), position))


EXTENSION_CONTEXTS = Projection(
    name="extension_contexts",
    version=1,
    tables=("extension_contexts",),
    ddl=DDL,
    handlers={ExtensionContext.Registered: registered},
)


class ContextView(msgspec.Struct, frozen=True):
    url: str
    sha256: str
    document: str  # exactly as registered: its UTF-8 bytes have `sha256`
    registered_at: str
    registered_by: str


_SELECT = "SELECT url, sha256, document, registered_at, actor FROM extension_contexts"


def all_contexts(db: Database) -> list[ContextView]:
    return [ContextView(*row) for row in db.query(f"{_SELECT} ORDER BY position")]


def by_url(db: Database, url: str) -> ContextView | None:
    rows = db.query(f"{_SELECT} WHERE url = ?", (url,))
    return ContextView(*rows[0]) if rows else None


def by_sha256(db: Database, sha256: str) -> ContextView | None:
    """The first context registered with these bytes (any other has the same text)."""
    rows = db.query(f"{_SELECT} WHERE sha256 = ? ORDER BY position LIMIT 1", (sha256,))
    return ContextView(*rows[0]) if rows else None

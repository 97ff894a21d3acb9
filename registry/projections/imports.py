"""The `imports` projection: credentials brought in from other platforms, with their provenance, by
the organisation that issued them (when it is registered here) and in log order."""

from __future__ import annotations

import json

import msgspec

from registry.domain import ImportedCredential
from registry.projections.projection import Projection, moment, text
from registry.store import Database

DDL = (
    "CREATE TABLE IF NOT EXISTS imported_credentials ("
    " id TEXT PRIMARY KEY, credential_id TEXT NOT NULL UNIQUE, format TEXT NOT NULL, baked TEXT NULL,"
    " source TEXT NOT NULL, issuer TEXT NOT NULL, issuer_id TEXT NULL, name TEXT NOT NULL,"
    " verdict TEXT NOT NULL, checks TEXT NOT NULL, unverified BOOLEAN NOT NULL, imported_at TEXT NOT NULL,"
    " position BIGINT NOT NULL, reissued_as TEXT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS imported_by_position ON imported_credentials (position)",
    "CREATE INDEX IF NOT EXISTS imported_of_issuer ON imported_credentials (issuer_id, position)",
    "CREATE INDEX IF NOT EXISTS imported_reissued_as ON imported_credentials (reissued_as)",
)
INSERT = ("INSERT INTO imported_credentials (id, credential_id, format, baked, source, issuer, issuer_id, name,"
          " verdict, checks, unverified, imported_at, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def imported(writes, position, event: ImportedCredential.Imported, log) -> None:
    writes.add(INSERT, (text(event.originator_id), event.credential_id, event.format, event.baked, event.source,
                        event.issuer, None if event.issuer_id is None else text(event.issuer_id), event.name,
                        event.verdict, event.checks, event.unverified, moment(event.timestamp), position))


def reissued(writes, position, event: ImportedCredential.Reissued, log) -> None:
    writes.add("UPDATE imported_credentials SET reissued_as = ? WHERE id = ?",
               (text(event.credential), text(event.originator_id)))


IMPORTS = Projection(
    name="imports",
    version=2,  # 2: reissued_as
    tables=("imported_credentials",),
    ddl=DDL,
    handlers={ImportedCredential.Imported: imported, ImportedCredential.Reissued: reissued},
)


class ImportView(msgspec.Struct, frozen=True):
    id: str
    credential_id: str
    format: str
    baked: str | None
    source: str
    issuer: str  # as the document names it
    issuer_id: str | None  # the registered organisation, if any
    name: str
    verdict: str  # at import
    checks: list[dict]  # [{"name", "outcome", "reason"}]
    unverified: bool
    imported_at: str
    position: int
    reissued_as: str | None = None  # the OB 3.0 credential an OB 2.0 badge was re-issued as


_SELECT = ("SELECT id, credential_id, format, baked, source, issuer, issuer_id, name, verdict, checks, unverified,"
           " imported_at, position, reissued_as FROM imported_credentials")


def _view(row) -> ImportView:
    return ImportView(*row[:9], json.loads(row[9]), bool(row[10]), *row[11:])


def by_id(db: Database, ref: str) -> ImportView | None:
    """An import by the registry's id for it or by the credential's own id."""
    rows = db.query(f"{_SELECT} WHERE id = ? OR credential_id = ?", (ref, ref))
    return _view(rows[0]) if rows else None


def reissue_of(db: Database, credential_id: str) -> ImportView | None:
    """The import a credential of this registry re-issues (an OB 2.0 badge), if it is one."""
    rows = db.query(f"{_SELECT} WHERE reissued_as = ?", (credential_id,))
    return _view(rows[0]) if rows else None


def after(db: Database, position: int, limit: int, issuer_id: str | None = None) -> list[ImportView]:
    if issuer_id is None:
        rows = db.query(f"{_SELECT} WHERE position > ? ORDER BY position LIMIT ?", (position, limit))
    else:
        rows = db.query(f"{_SELECT} WHERE issuer_id = ? AND position > ? ORDER BY position LIMIT ?",
                        (issuer_id, position, limit))
    return [_view(row) for row in rows]

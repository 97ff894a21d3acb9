"""The `directory` projection: organisations and their achievements, as they stand now."""

from __future__ import annotations

from registry.domain import Achievement, Issuer
from registry.projections.projection import Projection, text
from registry.projections.store import moment

DDL = (
    "CREATE TABLE IF NOT EXISTS issuers ("
    " id TEXT PRIMARY KEY, slug TEXT NOT NULL UNIQUE, did TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    " hosted BOOLEAN NOT NULL, registered_at TEXT NOT NULL, deactivated_at TEXT NULL)",
    "CREATE TABLE IF NOT EXISTS achievements ("
    " id TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, name TEXT NOT NULL,"
    " version INTEGER NOT NULL, defined_at TEXT NOT NULL, retired_at TEXT NULL)",
    "CREATE INDEX IF NOT EXISTS achievements_by_issuer ON achievements (issuer_id)",
)

INSERT_ISSUER = ("INSERT INTO issuers (id, slug, did, name, hosted, registered_at) "
                 "VALUES (?, ?, ?, ?, ?, ?)")
RENAME_ISSUER = "UPDATE issuers SET name = ? WHERE id = ?"
DEACTIVATE_ISSUER = "UPDATE issuers SET deactivated_at = ? WHERE id = ?"
INSERT_ACHIEVEMENT = ("INSERT INTO achievements (id, issuer_id, name, version, defined_at) "
                      "VALUES (?, ?, ?, 1, ?)")
REVISE_ACHIEVEMENT = "UPDATE achievements SET name = ?, version = version + 1 WHERE id = ?"
RETIRE_ACHIEVEMENT = "UPDATE achievements SET retired_at = ? WHERE id = ?"


def registered(writes, position, event: Issuer.Registered, log) -> None:
    writes.add(INSERT_ISSUER, (text(event.originator_id), event.slug, event.did, event.name,
                               event.hosted, moment(event.timestamp)))


def profile_updated(writes, position, event: Issuer.ProfileUpdated, log) -> None:
    if event.name is not None:  # only the name is part of the directory
        writes.add(RENAME_ISSUER, (event.name, text(event.originator_id)), phase=1)


def deactivated(writes, position, event: Issuer.Deactivated, log) -> None:
    writes.add(DEACTIVATE_ISSUER, (moment(event.timestamp), text(event.originator_id)), phase=1)


def defined(writes, position, event: Achievement.Defined, log) -> None:
    writes.add(INSERT_ACHIEVEMENT, (text(event.originator_id), text(event.issuer_id), event.name,
                                    moment(event.timestamp)))


def revised(writes, position, event: Achievement.Revised, log) -> None:
    writes.add(REVISE_ACHIEVEMENT, (event.name, text(event.originator_id)), phase=1)


def retired(writes, position, event: Achievement.Retired, log) -> None:
    writes.add(RETIRE_ACHIEVEMENT, (moment(event.timestamp), text(event.originator_id)), phase=1)


DIRECTORY = Projection(
    name="directory",
    tables=("issuers", "achievements"),
    ddl=DDL,
    handlers={
        Issuer.Registered: registered, Issuer.ProfileUpdated: profile_updated,
        Issuer.Deactivated: deactivated, Achievement.Defined: defined,
        Achievement.Revised: revised, Achievement.Retired: retired,
    },
)

"""The `directory` projection: organisations (their profile as it stands now) and their
achievements, with every published version of each achievement's document. Listings are keyset
pages in log order (the position of the registration or definition), so page 1,000 costs what
page 1 costs."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

import msgspec

from registry.domain import Achievement, Issuer
from registry.projections.projection import Projection, moment, text
from registry.store import Database

DDL = (
    "CREATE TABLE IF NOT EXISTS issuers ("
    " id TEXT PRIMARY KEY, slug TEXT NOT NULL UNIQUE, did TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    " hosted BOOLEAN NOT NULL, url TEXT NULL, email TEXT NULL, description TEXT NULL,"
    " kind TEXT NULL, image TEXT NULL, phone TEXT NULL, address TEXT NULL, other_identifier TEXT NULL,"
    " registered_at TEXT NOT NULL, deactivated_at TEXT NULL, deactivation_reason TEXT NULL,"
    " position BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS issuers_by_position ON issuers (position)",
    "CREATE INDEX IF NOT EXISTS issuers_by_name ON issuers (name, slug)",
    "CREATE TABLE IF NOT EXISTS achievements ("
    " id TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, name TEXT NOT NULL, version INTEGER NOT NULL,"
    " requires TEXT NOT NULL, defined_at TEXT NOT NULL, retired_at TEXT NULL, retired_reason TEXT NULL,"
    " position BIGINT NOT NULL, minimum_levels TEXT NOT NULL DEFAULT '{}', automatic BOOLEAN NOT NULL DEFAULT FALSE)",
    "CREATE UNIQUE INDEX IF NOT EXISTS achievements_by_position ON achievements (position)",
    "CREATE INDEX IF NOT EXISTS achievements_of_issuer ON achievements (issuer_id, position)",
    "CREATE TABLE IF NOT EXISTS achievement_versions ("
    " achievement_id TEXT NOT NULL, version INTEGER NOT NULL, document TEXT NOT NULL,"
    " published_at TEXT NOT NULL, PRIMARY KEY (achievement_id, version))",
)

INSERT_ISSUER = ("INSERT INTO issuers (id, slug, did, name, hosted, url, email, description, kind, image,"
                 " phone, address, other_identifier, registered_at, position)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
UPDATE_PROFILE = ("UPDATE issuers SET name = COALESCE(?, name), url = COALESCE(?, url),"
                  " email = COALESCE(?, email), description = COALESCE(?, description),"
                  " kind = COALESCE(?, kind), image = COALESCE(?, image), phone = COALESCE(?, phone),"
                  " address = COALESCE(?, address), other_identifier = COALESCE(?, other_identifier) WHERE id = ?")
DEACTIVATE_ISSUER = "UPDATE issuers SET deactivated_at = ?, deactivation_reason = ? WHERE id = ?"
INSERT_ACHIEVEMENT = ("INSERT INTO achievements (id, issuer_id, name, version, requires, defined_at,"
                      " position, minimum_levels, automatic) VALUES (?, ?, ?, 1, ?, ?, ?, ?, ?)")
REVISE_ACHIEVEMENT = ("UPDATE achievements SET name = ?, version = ?, requires = ?, minimum_levels = ?,"
                      " automatic = ? WHERE id = ?")
RETIRE_ACHIEVEMENT = "UPDATE achievements SET retired_at = ?, retired_reason = ? WHERE id = ?"
INSERT_VERSION = ("INSERT INTO achievement_versions (achievement_id, version, document, published_at)"
                  " VALUES (?, ?, ?, ?)")


def _json(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


def _requires(ids) -> str:
    return json.dumps([str(i) for i in ids])


def registered(writes, position, event: Issuer.Registered, log) -> None:
    writes.add(INSERT_ISSUER, (text(event.originator_id), event.slug, event.did, event.name,
                               event.hosted, event.url, event.email, event.description, event.kind,
                               event.image, event.phone, _json(event.address), _json(event.other_identifier),
                               moment(event.timestamp), position))


def profile_updated(writes, position, event: Issuer.ProfileUpdated, log) -> None:
    writes.add(UPDATE_PROFILE, (event.name, event.url, event.email, event.description, event.kind,
                                event.image, event.phone, _json(event.address), _json(event.other_identifier),
                                text(event.originator_id)), phase=1)


def deactivated(writes, position, event: Issuer.Deactivated, log) -> None:
    writes.add(DEACTIVATE_ISSUER, (moment(event.timestamp), event.reason, text(event.originator_id)),
               phase=1)


def defined(writes, position, event: Achievement.Defined, log) -> None:
    at = moment(event.timestamp)
    writes.add(INSERT_ACHIEVEMENT, (text(event.originator_id), text(event.issuer_id), event.name,
                                    _requires(event.requires), at, position,
                                    json.dumps(event.minimum_levels, sort_keys=True), event.automatic))
    writes.add(INSERT_VERSION, (text(event.originator_id), 1, event.document, at))


def revised(writes, position, event: Achievement.Revised, log) -> None:
    # An achievement's events are Defined, then Revised ones, then at most a final Retired: the
    # n-th event is version n.
    version = event.originator_version
    writes.add(REVISE_ACHIEVEMENT, (event.name, version, _requires(event.requires),
                                    json.dumps(event.minimum_levels, sort_keys=True), event.automatic,
                                    text(event.originator_id)), phase=1)
    writes.add(INSERT_VERSION, (text(event.originator_id), version, event.document,
                                moment(event.timestamp)))


def retired(writes, position, event: Achievement.Retired, log) -> None:
    writes.add(RETIRE_ACHIEVEMENT, (moment(event.timestamp), event.reason, text(event.originator_id)),
               phase=1)


DIRECTORY = Projection(
    name="directory",
    version=3,  # v3: organisations' kind and image
    tables=("issuers", "achievements", "achievement_versions"),
    ddl=DDL,
    handlers={
        Issuer.Registered: registered, Issuer.ProfileUpdated: profile_updated,
        Issuer.Deactivated: deactivated, Achievement.Defined: defined,
        Achievement.Revised: revised, Achievement.Retired: retired,
    },
)


# --- reads -----------------------------------------------------------------------------------------


class IssuerView(msgspec.Struct, frozen=True):
    id: str
    slug: str
    name: str
    did: str
    hosted: bool
    url: str | None
    email: str | None
    description: str | None
    registered_at: str
    deactivated_at: str | None
    deactivation_reason: str | None
    position: int  # of its registration in the log: the listing's order
    kind: str | None = None  # one of ORGANISATION_KINDS; None: not stated
    image: str | None = None  # the URL of its image
    phone: str | None = None
    address: dict | None = None  # an OB Address
    other_identifier: list[dict] | None = None  # OB IdentifierEntry objects


class AchievementView(msgspec.Struct, frozen=True):
    id: str
    issuer_id: str
    issuer: str  # slug
    issuer_name: str
    name: str
    version: int  # the latest
    requires: list[str]
    defined_at: str
    retired_at: str | None
    retired_reason: str | None
    position: int
    minimum_levels: dict[str, str] = {}  # required achievement id -> id of the lowest level that counts
    automatic: bool = False  # awarded by the registry when its requirements are all held


_ISSUER = ("SELECT id, slug, name, did, hosted, url, email, description, registered_at,"
           " deactivated_at, deactivation_reason, position, kind, image, phone, address, other_identifier FROM issuers")
_ACHIEVEMENT = ("SELECT a.id, a.issuer_id, i.slug, i.name, a.name, a.version, a.requires, a.defined_at,"
                " a.retired_at, a.retired_reason, a.position, a.minimum_levels, a.automatic FROM achievements a"
                " JOIN issuers i ON i.id = a.issuer_id")


def _issuer(row: Sequence) -> IssuerView:
    return IssuerView(row[0], row[1], row[2], row[3], bool(row[4]), *row[5:15],
                      None if row[15] is None else json.loads(row[15]), None if row[16] is None else json.loads(row[16]))


def _achievement(row: Sequence) -> AchievementView:
    return AchievementView(*row[:6], json.loads(row[6]), *row[7:11], json.loads(row[11]), bool(row[12]))


def issuer_by(db: Database, column: str, value: str) -> IssuerView | None:
    """The organisation whose `column` (slug, did or id) is `value`."""
    if column not in ("slug", "did", "id"):
        raise ValueError(f"cannot find an issuer by {column!r}")
    rows = db.query(f"{_ISSUER} WHERE {column} = ?", (value,))
    return _issuer(rows[0]) if rows else None


def issuers_after(db: Database, after: int, limit: int) -> list[IssuerView]:
    """Up to `limit` organisations registered after log position `after`, in log order."""
    return [_issuer(row) for row in db.query(f"{_ISSUER} WHERE position > ? ORDER BY position LIMIT ?",
                                             (after, limit))]


def issuers_by_name(db: Database, after: tuple[str, str] | None, limit: int) -> list[IssuerView]:
    """Up to `limit` organisations after (name, slug) in alphabetical order, for people."""
    if after is None:
        rows = db.query(f"{_ISSUER} ORDER BY name, slug LIMIT ?", (limit,))
    else:
        rows = db.query(f"{_ISSUER} WHERE name > ? OR (name = ? AND slug > ?) ORDER BY name, slug LIMIT ?",
                        (after[0], after[0], after[1], limit))
    return [_issuer(row) for row in rows]


def achievement(db: Database, achievement_id: str) -> AchievementView | None:
    rows = db.query(f"{_ACHIEVEMENT} WHERE a.id = ?", (achievement_id,))
    return _achievement(rows[0]) if rows else None


def achievements_after(db: Database, after: int, limit: int, issuer_id: str | None = None
                       ) -> list[AchievementView]:
    """Up to `limit` achievements defined after log position `after` (of one issuer, if given)."""
    if issuer_id is None:
        rows = db.query(f"{_ACHIEVEMENT} WHERE a.position > ? ORDER BY a.position LIMIT ?", (after, limit))
    else:
        rows = db.query(f"{_ACHIEVEMENT} WHERE a.issuer_id = ? AND a.position > ? ORDER BY a.position LIMIT ?",
                        (issuer_id, after, limit))
    return [_achievement(row) for row in rows]


def automatic_pathways_requiring(db: Database, achievement_id: str) -> list[str]:
    """Automatic, unretired achievements of the same issuer that require `achievement_id`: the
    candidates an award of it may complete (the issuer's few pathways, filtered on their JSON)."""
    rows = db.query("SELECT p.id, p.requires FROM achievements p JOIN achievements a ON a.issuer_id = p.issuer_id"
                    " WHERE a.id = ? AND p.automatic AND p.retired_at IS NULL ORDER BY p.position", (achievement_id,))
    return [row[0] for row in rows if achievement_id in json.loads(row[1])]


def achievement_document(db: Database, achievement_id: str, version: int | None) -> str | None:
    """The JSON text of one version (the latest when None) of an achievement, as published."""
    if version is None:
        rows = db.query("SELECT v.document FROM achievement_versions v JOIN achievements a"
                        " ON a.id = v.achievement_id AND a.version = v.version WHERE a.id = ?",
                        (achievement_id,))
    else:
        rows = db.query("SELECT document FROM achievement_versions WHERE achievement_id = ? AND version = ?",
                        (achievement_id, version))
    return rows[0][0] if rows else None


def _in(ids: Collection[str]) -> tuple[str, list[str]]:
    keys = sorted(set(ids))
    return ", ".join("?" * len(keys)), keys


def issuer_column(db: Database, column: str, ids: Collection[str]) -> dict[str, str]:
    """id -> `column` (slug, name or did) of the organisations among `ids`."""
    if column not in ("slug", "name", "did"):
        raise ValueError(f"no issuer column {column!r} to look up")
    if not ids:
        return {}
    marks, keys = _in(ids)
    return dict(db.query(f"SELECT id, {column} FROM issuers WHERE id IN ({marks})", keys))


def achievement_names(db: Database, ids: Collection[str]) -> dict[str, str]:
    if not ids:
        return {}
    marks, keys = _in(ids)
    return dict(db.query(f"SELECT id, name FROM achievements WHERE id IN ({marks})", keys))


def achievement_counts(db: Database, issuer_ids: Collection[str]) -> dict[str, int]:
    if not issuer_ids:
        return {}
    marks, keys = _in(issuer_ids)
    return dict(db.query(f"SELECT issuer_id, count(*) FROM achievements WHERE issuer_id IN ({marks})"
                         " GROUP BY issuer_id", keys))


def achievement_issuers(db: Database, ids: Collection[str]) -> dict[str, str]:
    """achievement id -> its issuer id, for those among `ids`."""
    if not ids:
        return {}
    marks, keys = _in(ids)
    return dict(db.query(f"SELECT id, issuer_id FROM achievements WHERE id IN ({marks})", keys))

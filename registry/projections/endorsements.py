"""The `endorsements` projection: every endorsement with when it was given and, once withdrawn,
when and why. `subject_issuer_id` is the organisation the subject belongs to (the issuer itself, an
achievement's issuer, a credential's issuer), so the organisation's endorsements and the trust graph
are one indexed read each. Listings are keyset pages in log order."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import msgspec

from registry.domain import Endorsement
from registry.projections.projection import EventLog, Projection, moment, text
from registry.store import Database
from registry.trust.chains import Neighbours

DDL = (
    "CREATE TABLE IF NOT EXISTS endorsements ("
    " id TEXT PRIMARY KEY, endorser_id TEXT NOT NULL, subject_kind TEXT NOT NULL,"
    " subject_id TEXT NOT NULL, subject_iri TEXT NOT NULL, subject_issuer_id TEXT NOT NULL,"
    " comment TEXT NOT NULL, custodial BOOLEAN NOT NULL, given_at TEXT NOT NULL,"
    " withdrawn_at TEXT NULL, withdrawn_reason TEXT NULL, position BIGINT NOT NULL)",
    "CREATE UNIQUE INDEX IF NOT EXISTS endorsements_by_position ON endorsements (position)",
    "CREATE INDEX IF NOT EXISTS endorsements_by_endorser ON endorsements (endorser_id, position)",
    "CREATE INDEX IF NOT EXISTS endorsements_by_subject ON endorsements (subject_id, position)",
    "CREATE INDEX IF NOT EXISTS endorsements_by_subject_issuer ON endorsements (subject_issuer_id, position)",
)

INSERT = (
    "INSERT INTO endorsements (id, endorser_id, subject_kind, subject_id, subject_iri,"
    " subject_issuer_id, comment, custodial, given_at, position)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
WITHDRAW = "UPDATE endorsements SET withdrawn_at = ?, withdrawn_reason = ? WHERE id = ?"


def subject_issuer(event: Endorsement.Endorsed, log: EventLog):
    if event.subject_kind == "issuer":
        return event.subject_id
    # An achievement's Defined and a credential's Issued both name their issuer; the subject
    # existed (and was logged) before it could be endorsed.
    return log.created(event.subject_id).issuer_id


def endorsed(writes, position, event: Endorsement.Endorsed, log) -> None:
    writes.add(INSERT, (
        text(event.originator_id), text(event.endorser_id), event.subject_kind,
        text(event.subject_id), event.subject_iri, text(subject_issuer(event, log)), event.comment,
        event.custodial, moment(event.timestamp), position,
    ))


def withdrawn(writes, position, event: Endorsement.Withdrawn, log) -> None:
    writes.add(WITHDRAW, (moment(event.timestamp), event.reason, text(event.originator_id)),
               phase=1)


ENDORSEMENTS = Projection(
    name="endorsements",
    version=2,
    tables=("endorsements",),
    ddl=DDL,
    handlers={Endorsement.Endorsed: endorsed, Endorsement.Withdrawn: withdrawn},
)


# --- reads -----------------------------------------------------------------------------------------


class EndorsementView(msgspec.Struct, frozen=True):
    id: str
    endorser_id: str
    endorser: str  # slug
    endorser_name: str
    endorser_did: str
    subject_kind: str  # issuer, achievement or credential
    subject_id: str
    subject_iri: str
    subject_issuer_id: str  # the organisation the subject belongs to
    subject_issuer: str  # its slug
    subject_name: str | None  # the organisation's or achievement's name; a credential's achievement's
    comment: str
    custodial: bool
    given_at: str
    withdrawn_at: str | None
    withdrawn_reason: str | None
    standing: bool  # at the instant asked about (now when none was)
    position: int
    # The achievement the subject is or was awarded (for a link); None for an organisation.
    subject_achievement_id: str | None = None


_SELECT = (
    "SELECT e.id, e.endorser_id, i.slug, i.name, i.did, e.subject_kind, e.subject_id, e.subject_iri,"
    " e.subject_issuer_id, s.slug, COALESCE(a.name, CASE WHEN e.subject_kind = 'issuer' THEN s.name END),"
    " e.comment, e.custodial, e.given_at, e.withdrawn_at, e.withdrawn_reason, e.position, a.id"
    " FROM endorsements e JOIN issuers i ON i.id = e.endorser_id"
    " JOIN issuers s ON s.id = e.subject_issuer_id"
    # A credential is named by what it awards: its achievement, through its status row.
    " LEFT JOIN credential_status c ON c.credential_id = e.subject_id AND e.subject_kind = 'credential'"
    " LEFT JOIN achievements a ON a.id = CASE WHEN e.subject_kind = 'achievement' THEN e.subject_id"
    " ELSE c.achievement_id END"
)
FILTERS = ("endorser_id", "subject_id", "subject_issuer_id")


def endorsements(db: Database, where: dict[str, str], *, at: datetime | None = None, after: int = 0,
                 limit: int | None = None) -> list[EndorsementView]:
    """Endorsements matching every `where` column (endorser_id, subject_id, subject_issuer_id) after
    log position `after`, in log order. At an instant: those standing then (given, and not yet
    withdrawn). Now: all, withdrawn ones with their withdrawal."""
    unknown = set(where) - set(FILTERS)
    if unknown:
        raise ValueError(f"cannot select endorsements by {sorted(unknown)}")
    conditions, params = ["e.position > ?"], [after]
    for column, value in where.items():
        conditions.append(f"e.{column} = ?")
        params.append(value)
    asked = None if at is None else moment(at)
    if asked is not None:
        conditions.append("e.given_at <= ? AND (e.withdrawn_at IS NULL OR e.withdrawn_at > ?)")
        params += [asked, asked]
    sql = f"{_SELECT} WHERE {' AND '.join(conditions)} ORDER BY e.position"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    return [EndorsementView(*row[:12], bool(row[12]), *row[13:16],
                            asked is not None or row[14] is None, row[16], row[17])
            for row in db.query(sql, params)]


def withdrawn_at(db: Database, endorsement_id: str) -> str | None:
    rows = db.query("SELECT withdrawn_at FROM endorsements WHERE id = ?", (endorsement_id,))
    return rows[0][0] if rows else None


def network(db: Database) -> list[tuple[str, str, str, int]]:
    """(endorser id, subject issuer id, subject kind, count) of standing endorsements of an
    organisation or of its achievements, between different organisations."""
    return db.query(
        "SELECT endorser_id, subject_issuer_id, subject_kind, count(*) FROM endorsements"
        " WHERE withdrawn_at IS NULL AND subject_kind IN ('issuer', 'achievement')"
        " AND endorser_id <> subject_issuer_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")


def endorsers_of(db: Database, ids: Collection[str]) -> dict[str, str]:
    """endorsement id -> endorser id, for those among `ids`."""
    if not ids:
        return {}
    keys = sorted(set(ids))
    return dict(db.query(f"SELECT id, endorser_id FROM endorsements WHERE id IN ({', '.join('?' * len(keys))})",
                         keys))


# --- the trust graph ---------------------------------------------------------------------------------

# Credential endorsements vouch for one award, not for the organisation behind it.
KINDS = "subject_kind IN ('issuer', 'achievement')"
STANDING_NOW = "withdrawn_at IS NULL"
STANDING_AT = "given_at <= ? AND (withdrawn_at IS NULL OR withdrawn_at > ?)"
# SQLite's default limit on host parameters is 32,766; frontiers are chunked well below it.
CHUNK = 2000


class Edges:
    """The trust graph's edges standing at `at` (now when None): endorser_id -> subject_issuer_id
    for every endorsement of an organisation or of its achievements; one indexed query per
    frontier of the search (registry.trust.chains)."""

    def __init__(self, db: Database, at: datetime | None = None) -> None:
        self.db = db
        self.at = None if at is None else moment(at)

    def successors(self, ids: Collection[str]) -> Neighbours:
        return self._select("endorser_id", "subject_issuer_id", ids)

    def predecessors(self, ids: Collection[str]) -> Neighbours:
        return self._select("subject_issuer_id", "endorser_id", ids)

    def _select(self, key: str, other: str, ids: Collection[str]) -> Neighbours:
        standing, params = (STANDING_NOW, ()) if self.at is None else (STANDING_AT, (self.at, self.at))
        found: dict[str, list[tuple[str, str]]] = {}
        ids = list(ids)
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            if self.db.kind == "postgres":
                match, keys = f"{key} = ANY(?)", (chunk,)
            else:
                match, keys = f"{key} IN ({','.join('?' * len(chunk))})", tuple(chunk)
            rows = self.db.query(
                f"SELECT {key}, {other}, id FROM endorsements"
                f" WHERE {match} AND {KINDS} AND {standing}", keys + params)
            for node, neighbour, endorsement in rows:
                if node != neighbour:  # endorsing one's own achievement vouches for nothing
                    found.setdefault(node, []).append((neighbour, endorsement))
        return found

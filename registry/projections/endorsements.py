"""The `endorsements` projection: every endorsement with when it was given and, once withdrawn,
when and why. `subject_issuer_id` is the organisation the subject belongs to (the issuer itself, an
achievement's issuer, a credential's issuer), so the trust graph can walk organisation to
organisation with one indexed read."""

from __future__ import annotations

from registry.domain import Endorsement
from registry.projections.projection import EventLog, Projection, text
from registry.projections.store import moment

DDL = (
    "CREATE TABLE IF NOT EXISTS endorsements ("
    " id TEXT PRIMARY KEY, endorser_id TEXT NOT NULL, subject_kind TEXT NOT NULL,"
    " subject_id TEXT NOT NULL, subject_iri TEXT NOT NULL, subject_issuer_id TEXT NOT NULL,"
    " comment TEXT NOT NULL, custodial BOOLEAN NOT NULL, given_at TEXT NOT NULL,"
    " withdrawn_at TEXT NULL, withdrawn_reason TEXT NULL, position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS endorsements_by_endorser ON endorsements (endorser_id)",
    "CREATE INDEX IF NOT EXISTS endorsements_by_subject ON endorsements (subject_id)",
    "CREATE INDEX IF NOT EXISTS endorsements_by_subject_issuer ON endorsements (subject_issuer_id)",
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
    tables=("endorsements",),
    ddl=DDL,
    handlers={Endorsement.Endorsed: endorsed, Endorsement.Withdrawn: withdrawn},
)

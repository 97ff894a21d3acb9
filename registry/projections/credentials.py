"""The `credentials` projection: every issued credential's validity facts and current status
(`credential_status`), and each status change with its instant (`credential_status_changes`), so
that the status at any earlier instant is one indexed read. Expiry is never stored: queries derive
it from valid_until."""

from __future__ import annotations

from registry.domain import Credential
from registry.domain.credential import ACTIVE, REVOKED, SUSPENDED
from registry.projections.projection import Projection, text
from registry.projections.store import moment, optional_moment

DDL = (
    "CREATE TABLE IF NOT EXISTS credential_status ("
    " credential_id TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, achievement_id TEXT NOT NULL,"
    " achievement_version INTEGER NOT NULL, recipient TEXT NOT NULL, issued_at TEXT NOT NULL,"
    " valid_from TEXT NOT NULL, valid_until TEXT NULL,"
    " status TEXT NOT NULL, reason TEXT NULL, status_since TEXT NOT NULL,"
    " status_list TEXT NULL, status_list_index INTEGER NULL, position BIGINT NOT NULL)",
    # The status-list builder reads one issuer's credentials, or one list in index order.
    "CREATE INDEX IF NOT EXISTS credential_status_by_issuer ON credential_status (issuer_id)",
    "CREATE INDEX IF NOT EXISTS credential_status_by_list"
    " ON credential_status (status_list, status_list_index)",
    # Regenerating a list reads only its revoked entries: a covering partial index answers that
    # from the index alone (measured: 4 ms instead of 34-49 ms for 10,000 revoked of 29,000).
    "CREATE INDEX IF NOT EXISTS credential_status_revoked"
    " ON credential_status (status_list, status, status_list_index) WHERE status = 'revoked'",
    "CREATE TABLE IF NOT EXISTS credential_status_changes ("
    " credential_id TEXT NOT NULL, position BIGINT NOT NULL, at TEXT NOT NULL,"
    " status TEXT NOT NULL, reason TEXT NULL, PRIMARY KEY (credential_id, position))",
)

INSERT = (
    "INSERT INTO credential_status (credential_id, issuer_id, achievement_id, achievement_version,"
    " recipient, issued_at, valid_from, valid_until, status, reason, status_since, status_list,"
    " status_list_index, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?)"
)
CHANGE = ("UPDATE credential_status SET status = ?, reason = ?, status_since = ?, position = ?"
          " WHERE credential_id = ?")
RECORD_CHANGE = ("INSERT INTO credential_status_changes (credential_id, position, at, status, reason)"
                 " VALUES (?, ?, ?, ?, ?)")


def issued(writes, position, event: Credential.Issued, log) -> None:
    at = moment(event.timestamp)
    # The status-list position is being added to Issued by the status-list work; older events
    # (and this code before it lands) have none.
    writes.add(INSERT, (
        text(event.originator_id), text(event.issuer_id), text(event.achievement_id),
        event.achievement_version, event.recipient, at, moment(event.valid_from),
        optional_moment(event.valid_until), ACTIVE, at, getattr(event, "status_list", None),
        getattr(event, "status_list_index", None), position,
    ))


def changed_to(status: str):
    def handler(writes, position, event, log) -> None:
        credential, at = text(event.originator_id), moment(event.timestamp)
        # After every insert of the batch: a change may concern a credential issued in it.
        writes.add(CHANGE, (status, event.reason, at, position, credential), phase=1)
        writes.add(RECORD_CHANGE, (credential, position, at, status, event.reason), phase=2)

    handler.__name__ = f"changed_to_{status}"
    return handler


CREDENTIALS = Projection(
    name="credentials",
    tables=("credential_status", "credential_status_changes"),
    ddl=DDL,
    handlers={
        Credential.Issued: issued,
        Credential.Suspended: changed_to(SUSPENDED),
        Credential.Reinstated: changed_to(ACTIVE),
        Credential.Revoked: changed_to(REVOKED),
    },
)

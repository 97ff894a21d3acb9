"""Answers from the read models, now or as of any instant: a credential's status, an organisation's
keys, the endorsements of a subject or by an endorser. Each is one or two indexed reads."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

import msgspec

from registry.domain.credential import ACTIVE, REVOKED
from registry.projections.store import ReadStore, moment

EXPIRED, NOT_ISSUED = "expired", "not-issued"


class CredentialStatus(msgspec.Struct, frozen=True):
    credential_id: str
    at: str | None  # the instant asked about; None: now
    status: str  # active, suspended, revoked, expired, or not-issued (asked before its issue)
    valid: bool  # active and inside its validity period at that instant
    expired: bool
    reason: str | None  # given with the last status change up to that instant
    since: str | None  # when that status began (valid_until for an expired credential)
    issuer_id: str
    achievement_id: str
    achievement_version: int
    recipient: str
    issued_at: str
    valid_from: str
    valid_until: str | None
    status_list: str | None
    status_list_index: int | None


class KeyState(msgspec.Struct, frozen=True):
    verification_method: str
    public_key_multibase: str
    state: str  # at the instant asked about: active, retired or compromised
    added_at: str
    retired_at: str | None
    compromised_since: str | None
    compromise_reported_at: str | None


class EndorsementView(msgspec.Struct, frozen=True):
    id: str
    endorser_id: str
    endorser: str  # slug
    subject_kind: str
    subject_id: str
    subject_iri: str
    subject_issuer_id: str
    comment: str
    custodial: bool
    given_at: str
    withdrawn_at: str | None
    withdrawn_reason: str | None
    standing: bool  # at the instant asked about (now when none was)


_CREDENTIAL = (
    "SELECT issuer_id, achievement_id, achievement_version, recipient, issued_at, valid_from,"
    " valid_until, status, reason, status_since, status_list, status_list_index"
    " FROM credential_status WHERE credential_id = ?"
)
_CHANGE_AT = (
    "SELECT status, reason, at FROM credential_status_changes"
    " WHERE credential_id = ? AND at <= ? ORDER BY position DESC LIMIT 1"
)
_KEYS = (
    "SELECT verification_method, public_key_multibase, added_at, retired_at, compromised_since,"
    " compromise_reported_at FROM issuer_keys WHERE issuer_id = ? ORDER BY added_at, position"
)
_ENDORSEMENTS = (
    "SELECT e.id, e.endorser_id, i.slug, e.subject_kind, e.subject_id, e.subject_iri,"
    " e.subject_issuer_id, e.comment, e.custodial, e.given_at, e.withdrawn_at, e.withdrawn_reason"
    " FROM endorsements e JOIN issuers i ON i.id = e.endorser_id WHERE "
)


# The columns of _CREDENTIAL, for callers that fetch them inside a larger statement.
CREDENTIAL_COLUMNS = _CREDENTIAL[len("SELECT "):_CREDENTIAL.index(" FROM ")]


def credential_status(store: ReadStore, credential_id: str, at: datetime | None = None
                      ) -> CredentialStatus | None:
    """None when no such credential was issued (as far as the projection has seen)."""
    rows = store.query(_CREDENTIAL, (credential_id,))
    return status_from_row(store, credential_id, rows[0], at) if rows else None


def status_from_row(store: ReadStore, credential_id: str, row: Sequence[Any],
                    at: datetime | None = None) -> CredentialStatus:
    """The answer for one credential_status row (CREDENTIAL_COLUMNS), now or as of `at`."""
    (issuer_id, achievement_id, version, recipient, issued_at, valid_from, valid_until, status,
     reason, since, status_list, status_list_index) = row
    asked = None if at is None else moment(at)
    instant = asked or moment(datetime.now(timezone.utc))
    if asked is not None:
        if asked < issued_at:
            status, reason, since = NOT_ISSUED, None, None
        else:
            change = store.query(_CHANGE_AT, (credential_id, asked))
            status, reason, since = change[0] if change else (ACTIVE, None, issued_at)
    expired = status != NOT_ISSUED and valid_until is not None and valid_until <= instant
    valid = status == ACTIVE and not expired and valid_from <= instant
    if expired and status != REVOKED:
        status, since = EXPIRED, valid_until
    return CredentialStatus(
        credential_id, asked, status, valid, expired, reason, since, issuer_id, achievement_id,
        version, recipient, issued_at, valid_from, valid_until, status_list, status_list_index)


def issuer_keys(store: ReadStore, issuer_id: str, at: datetime | None = None) -> list[KeyState]:
    """Every key the issuer had at `at` (all keys when None), each with its state then. A key
    counts as compromised from `compromised_since`, even before the compromise was reported."""
    asked = None if at is None else moment(at)
    keys = []
    for vm, multibase, added, retired, compromised, reported in store.query(_KEYS, (issuer_id,)):
        if asked is not None and added > asked:
            continue
        if compromised is not None and (asked is None or compromised <= asked):
            state = "compromised"
        elif retired is not None and (asked is None or retired <= asked):
            state = "retired"
        else:
            state = "active"
        keys.append(KeyState(vm, multibase, state, added, retired, compromised, reported))
    return keys


def endorsements(store: ReadStore, column: str, value: str, at: datetime | None = None
                 ) -> list[EndorsementView]:
    """Endorsements whose `column` (endorser_id or subject_id) is `value`. At an instant: those
    standing then (given, and not yet withdrawn). Now: all, withdrawn ones with their withdrawal."""
    if column not in ("endorser_id", "subject_id"):
        raise ValueError(f"cannot select endorsements by {column!r}")
    sql = _ENDORSEMENTS + f"e.{column} = ?"
    params: tuple = (value,)
    asked = None if at is None else moment(at)
    if asked is not None:
        sql += " AND e.given_at <= ? AND (e.withdrawn_at IS NULL OR e.withdrawn_at > ?)"
        params += (asked, asked)
    found = []
    for row in store.query(sql + " ORDER BY e.given_at, e.id", params):
        withdrawn_at = row[10]
        standing = asked is not None or withdrawn_at is None
        found.append(EndorsementView(*row[:8], bool(row[8]), *row[9:], standing))
    return found


def issuer_by(store: ReadStore, column: str, value: str) -> tuple[str, str] | None:
    """(id, slug) of the organisation whose `column` (slug, did or id) is `value`."""
    if column not in ("slug", "did", "id"):
        raise ValueError(f"cannot find an issuer by {column!r}")
    rows = store.query(f"SELECT id, slug FROM issuers WHERE {column} = ?", (value,))
    return rows[0] if rows else None


def subject_kind(store: ReadStore, subject_id: str) -> str | None:
    """What an id names, if anything endorsable: an achievement or a credential."""
    if store.query("SELECT 1 FROM achievements WHERE id = ?", (subject_id,)):
        return "achievement"
    if store.query("SELECT 1 FROM credential_status WHERE credential_id = ?", (subject_id,)):
        return "credential"
    return None

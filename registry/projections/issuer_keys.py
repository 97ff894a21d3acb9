"""The `issuer_keys` projection: every key an organisation has had, with the instants that bound
its intervals: active from added_at, retired from retired_at, distrusted from compromised_since
(the time the compromise was reported is kept beside it)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import msgspec

from registry.domain import Issuer
from registry.projections.projection import Projection, moment, text
from registry.store import Database

DDL = (
    "CREATE TABLE IF NOT EXISTS issuer_keys ("
    " issuer_id TEXT NOT NULL, verification_method TEXT NOT NULL,"
    " public_key_multibase TEXT NOT NULL, added_at TEXT NOT NULL, retired_at TEXT NULL,"
    " compromised_since TEXT NULL, compromise_reported_at TEXT NULL, position BIGINT NOT NULL,"
    " PRIMARY KEY (issuer_id, verification_method))",
)

INSERT = ("INSERT INTO issuer_keys (issuer_id, verification_method, public_key_multibase,"
          " added_at, position) VALUES (?, ?, ?, ?, ?)")
RETIRE = ("UPDATE issuer_keys SET retired_at = ?"
          " WHERE issuer_id = ? AND verification_method = ? AND retired_at IS NULL")
COMPROMISE = ("UPDATE issuer_keys SET compromised_since = ?, compromise_reported_at = ?,"
              " retired_at = COALESCE(retired_at, ?) WHERE issuer_id = ? AND verification_method = ?")
RETIRE_ALL = "UPDATE issuer_keys SET retired_at = ? WHERE issuer_id = ? AND retired_at IS NULL"

# Key events are few and depend on each other's order: one phase, in log order.


def key_added(writes, position, event: Issuer.KeyAdded, log) -> None:
    writes.add(INSERT, (text(event.originator_id), event.verification_method,
                        event.public_key_multibase, moment(event.timestamp), position))


def key_rotated(writes, position, event: Issuer.KeyRotated, log) -> None:
    issuer, at = text(event.originator_id), moment(event.timestamp)
    writes.add(RETIRE, (at, issuer, event.retired_verification_method))
    writes.add(INSERT, (issuer, event.verification_method, event.public_key_multibase, at, position))


def key_compromised(writes, position, event: Issuer.KeyCompromised, log) -> None:
    at = moment(event.timestamp)
    writes.add(COMPROMISE, (moment(event.since), at, at, text(event.originator_id),
                            event.verification_method))


def deactivated(writes, position, event: Issuer.Deactivated, log) -> None:
    writes.add(RETIRE_ALL, (moment(event.timestamp), text(event.originator_id)))


ISSUER_KEYS = Projection(
    name="issuer_keys",
    version=1,
    tables=("issuer_keys",),
    ddl=DDL,
    handlers={
        Issuer.KeyAdded: key_added, Issuer.KeyRotated: key_rotated,
        Issuer.KeyCompromised: key_compromised, Issuer.Deactivated: deactivated,
    },
)


# --- reads -----------------------------------------------------------------------------------------


class KeyState(msgspec.Struct, frozen=True):
    verification_method: str
    public_key_multibase: str
    state: str  # at the instant asked about: active, retired or compromised
    added_at: str
    retired_at: str | None
    compromised_since: str | None
    compromise_reported_at: str | None


_KEYS = ("SELECT issuer_id, verification_method, public_key_multibase, added_at, retired_at,"
         " compromised_since, compromise_reported_at FROM issuer_keys")


def keys(db: Database, issuer_id: str, at: datetime | None = None) -> list[KeyState]:
    """Every key the issuer had at `at` (all keys when None), each with its state then. A key
    counts as compromised from `compromised_since`, even before the compromise was reported."""
    return keys_of(db, [issuer_id], at).get(issuer_id, [])


def keys_of(db: Database, issuer_ids: Collection[str], at: datetime | None = None) -> dict[str, list[KeyState]]:
    if not issuer_ids:
        return {}
    ids = sorted(set(issuer_ids))
    asked = None if at is None else moment(at)
    found: dict[str, list[KeyState]] = {}
    rows = db.query(f"{_KEYS} WHERE issuer_id IN ({', '.join('?' * len(ids))})"
                    " ORDER BY issuer_id, added_at, position", ids)
    for issuer, vm, multibase, added, retired, compromised, reported in rows:
        if asked is not None and added > asked:
            continue
        if compromised is not None and (asked is None or compromised <= asked):
            state = "compromised"
        elif retired is not None and (asked is None or retired <= asked):
            state = "retired"
        else:
            state = "active"
        found.setdefault(issuer, []).append(KeyState(vm, multibase, state, added, retired, compromised, reported))
    return found

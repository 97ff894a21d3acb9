"""What the public pages read from the read side beyond the registry's query use cases: counts per
month, the directory's lists, endorsements received by an organisation through any of its subjects,
the network's edges, and which organisation an aggregate belongs to (for the log filter).

Every function calls `fresh()` first (read-your-writes, as the query use cases do) and runs plain
SQL with `?` placeholders, which the read store adapts to PostgreSQL."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Collection
from dataclasses import dataclass

from registry.application import Registry
from registry.projections import ReadModel


def _read(registry: Registry) -> ReadModel:
    read = registry.read_model
    read.fresh()
    return read


# --- home: figures ---------------------------------------------------------------------------------

# Each figure: (name, SQL giving (year-month, count) rows). Months are UTC: times are stored as
# ISO 8601 UTC text, so the first seven characters are the month.
_MONTHLY = (
    ("issuers", "SELECT substr(registered_at, 1, 7), count(*) FROM issuers GROUP BY 1"),
    ("achievements", "SELECT substr(defined_at, 1, 7), count(*) FROM achievements GROUP BY 1"),
    ("issued", "SELECT substr(issued_at, 1, 7), count(*) FROM credential_status GROUP BY 1"),
    ("revoked", "SELECT substr(at, 1, 7), count(*) FROM credential_status_changes"
                " WHERE status = 'revoked' GROUP BY 1"),
    ("endorsements", "SELECT substr(given_at, 1, 7), count(*) FROM endorsements GROUP BY 1"),
    ("withdrawn", "SELECT substr(withdrawn_at, 1, 7), count(*) FROM endorsements"
                  " WHERE withdrawn_at IS NOT NULL GROUP BY 1"),
)
FIGURES = tuple(name for name, _ in _MONTHLY)


@dataclass(frozen=True)
class Figures:
    totals: dict[str, int]
    months: list[tuple[str, dict[str, int]]]  # newest month first


# The figures scan whole tables; they change only when the log grows, so they are kept per
# registry until its last position moves.
_cache: weakref.WeakKeyDictionary[Registry, tuple[int, Figures]] = weakref.WeakKeyDictionary()
_cache_lock = threading.Lock()


def figures(registry: Registry) -> Figures:
    position = registry.max_position()
    with _cache_lock:
        found = _cache.get(registry)
        if found is not None and found[0] == position:
            return found[1]
    read = _read(registry)
    per_month: dict[str, dict[str, int]] = {}
    totals = dict.fromkeys(FIGURES, 0)
    for name, sql in _MONTHLY:
        for month, count in read.store.query(sql):
            per_month.setdefault(month, dict.fromkeys(FIGURES, 0))[name] = count
            totals[name] += count
    result = Figures(totals, sorted(per_month.items(), reverse=True))
    with _cache_lock:
        _cache[registry] = (position, result)
    return result


# --- the directory ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class IssuerRow:
    id: str
    slug: str
    name: str
    did: str
    deactivated_at: str | None
    achievements: int
    credentials: int


def issuers(registry: Registry) -> list[IssuerRow]:
    store = _read(registry).store
    achievements = dict(store.query("SELECT issuer_id, count(*) FROM achievements GROUP BY issuer_id"))
    credentials = dict(store.query("SELECT issuer_id, count(*) FROM credential_status GROUP BY issuer_id"))
    rows = store.query("SELECT id, slug, name, did, deactivated_at FROM issuers ORDER BY name, slug")
    return [IssuerRow(*row, achievements.get(row[0], 0), credentials.get(row[0], 0)) for row in rows]


@dataclass(frozen=True)
class AchievementRow:
    id: str
    name: str
    version: int
    defined_at: str
    retired_at: str | None


def achievements_of(registry: Registry, issuer_id: str) -> list[AchievementRow]:
    rows = _read(registry).store.query(
        "SELECT id, name, version, defined_at, retired_at FROM achievements WHERE issuer_id = ?"
        " ORDER BY defined_at, name", (issuer_id,))
    return [AchievementRow(*row) for row in rows]


def names(registry: Registry, ids: Collection[str]) -> dict[str, tuple[str, str]]:
    """id -> (kind, name) for issuers (name) and achievements (name), for labelling links."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    store = _read(registry).store
    marks = ", ".join("?" * len(ids))
    found = {i: ("issuer", name) for i, name in store.query(
        f"SELECT id, name FROM issuers WHERE id IN ({marks})", ids)}
    found.update({i: ("achievement", name) for i, name in store.query(
        f"SELECT id, name FROM achievements WHERE id IN ({marks})", ids)})
    return found


def slugs(registry: Registry, ids: Collection[str]) -> dict[str, str]:
    ids = sorted(set(ids))
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    return dict(_read(registry).store.query(f"SELECT id, slug FROM issuers WHERE id IN ({marks})", ids))


# --- endorsements ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    id: str
    endorser_id: str
    endorser_slug: str
    endorser_name: str
    subject_kind: str
    subject_id: str
    subject_name: str | None  # the achievement's name; None for the organisation or a credential
    comment: str
    custodial: bool
    given_at: str
    withdrawn_at: str | None
    withdrawn_reason: str | None


def endorsements_received(registry: Registry, issuer_id: str) -> list[Received]:
    """Endorsements of the organisation itself, of its achievements and of its credentials
    (`subject_issuer_id` is indexed for exactly this), oldest first, withdrawn ones included."""
    rows = _read(registry).store.query(
        "SELECT e.id, e.endorser_id, i.slug, i.name, e.subject_kind, e.subject_id, a.name,"
        " e.comment, e.custodial, e.given_at, e.withdrawn_at, e.withdrawn_reason"
        " FROM endorsements e JOIN issuers i ON i.id = e.endorser_id"
        " LEFT JOIN achievements a ON a.id = e.subject_id"
        " WHERE e.subject_issuer_id = ? ORDER BY e.given_at, e.id", (issuer_id,))
    return [Received(*row[:8], bool(row[8]), *row[9:]) for row in rows]


def network_edges(registry: Registry) -> list[tuple[str, str, str, int]]:
    """(endorser id, subject issuer id, subject kind, count) of standing endorsements of an
    organisation or of its achievements, between different organisations."""
    return _read(registry).store.query(
        "SELECT endorser_id, subject_issuer_id, subject_kind, count(*) FROM endorsements"
        " WHERE withdrawn_at IS NULL AND subject_kind IN ('issuer', 'achievement')"
        " AND endorser_id <> subject_issuer_id GROUP BY 1, 2, 3 ORDER BY 1, 2, 3")


# --- the log filter ----------------------------------------------------------------------------------


def owners(registry: Registry, ids: Collection[str]) -> dict[str, str]:
    """aggregate id -> the organisation it belongs to, for achievements, credentials and
    endorsements (the endorser) among `ids`: three indexed reads per page of the log."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    store = _read(registry).store
    marks = ", ".join("?" * len(ids))
    found: dict[str, str] = {}
    for sql in (f"SELECT id, issuer_id FROM achievements WHERE id IN ({marks})",
                f"SELECT credential_id, issuer_id FROM credential_status WHERE credential_id IN ({marks})",
                f"SELECT id, endorser_id FROM endorsements WHERE id IN ({marks})"):
        found.update(dict(store.query(sql, ids)))
    return found

"""The `kpis` projection: figures for programme managers, kept as indexed aggregates so a KPI page
costs a few small reads, never a replay.

- `kpi_credentials`: one row per issued credential (issuer, achievement, recipient as stored, when,
  its status now), the facts the other tables are derived from.
- `kpi_counts`: issued, revoked and suspended-now counters per subject: the registry as a whole
  (`*`), each organisation (its id) and each achievement (its id).
- `kpi_monthly`: credentials issued per subject and month of issue (UTC, `YYYY-MM`).
- `kpi_requires`: each achievement's prerequisites (`requires` of Defined/Revised) with the log
  positions between which they stood, so "what did the pathway require when it was completed" is
  exact whatever the batch size.
- `kpi_earned`: per pathway achievement (one that requires others) and recipient, the time from the
  recipient's first award of any achievement the pathway requires (transitively, as it stood then)
  to their first award of the pathway achievement itself.
- `kpi_endorsements`, `kpi_kinds`: endorsements received (of an organisation, an achievement, a
  credential) with the organisation and achievement the subject belongs to, and each
  organisation's kind (stakeholder type), so endorsements group by the endorser's kind as it
  stands now.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import msgspec

from registry.domain import Achievement, Credential, Endorsement, Issuer
from registry.domain.issuer import ORGANISATION_KINDS
from registry.domain.credential import ACTIVE, REVOKED, SUSPENDED
from registry.projections.endorsements import subject_issuer
from registry.projections.projection import Projection, moment, text
from registry.store import Database

ALL = "*"  # the subject key of the registry as a whole
NOT_STATED = "not-stated"
KINDS: tuple[str, ...] = ORGANISATION_KINDS
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DEFAULT_MONTHS, MAX_MONTHS = 12, 36
KEPT_ANSWERS = 256  # answers Queries keeps, each until the log grows

DDL = (
    "CREATE TABLE IF NOT EXISTS kpi_credentials ("
    " credential_id TEXT PRIMARY KEY, issuer_id TEXT NOT NULL, achievement_id TEXT NOT NULL,"
    " recipient TEXT NOT NULL, issued_micros BIGINT NOT NULL, status TEXT NOT NULL, position BIGINT NOT NULL)",
    # A pathway's completion looks up the recipient's earlier awards of the required achievements.
    "CREATE INDEX IF NOT EXISTS kpi_credentials_by_recipient"
    " ON kpi_credentials (recipient, achievement_id, position)",
    "CREATE TABLE IF NOT EXISTS kpi_counts ("
    " subject TEXT PRIMARY KEY, issued BIGINT NOT NULL, revoked BIGINT NOT NULL, suspended BIGINT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS kpi_monthly ("
    " subject TEXT NOT NULL, month TEXT NOT NULL, issued BIGINT NOT NULL, PRIMARY KEY (subject, month))",
    "CREATE TABLE IF NOT EXISTS kpi_requires ("
    " achievement_id TEXT NOT NULL, required_id TEXT NOT NULL, since_position BIGINT NOT NULL,"
    " until_position BIGINT NULL, PRIMARY KEY (achievement_id, since_position, required_id))",
    "CREATE TABLE IF NOT EXISTS kpi_earned ("
    " achievement_id TEXT NOT NULL, recipient TEXT NOT NULL, issuer_id TEXT NOT NULL,"
    " credential_id TEXT NOT NULL, micros BIGINT NOT NULL, PRIMARY KEY (achievement_id, recipient))",
    "CREATE INDEX IF NOT EXISTS kpi_earned_by_time ON kpi_earned (achievement_id, micros)",
    "CREATE INDEX IF NOT EXISTS kpi_earned_of_issuer ON kpi_earned (issuer_id, micros)",
    "CREATE INDEX IF NOT EXISTS kpi_earned_all ON kpi_earned (micros)",
    "CREATE TABLE IF NOT EXISTS kpi_endorsements ("
    " id TEXT PRIMARY KEY, endorser_id TEXT NOT NULL, subject_kind TEXT NOT NULL,"
    " subject_issuer_id TEXT NOT NULL, subject_achievement_id TEXT NULL, withdrawn BOOLEAN NOT NULL,"
    " position BIGINT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS kpi_endorsements_of_issuer ON kpi_endorsements (subject_issuer_id)",
    "CREATE INDEX IF NOT EXISTS kpi_endorsements_of_achievement ON kpi_endorsements (subject_achievement_id)",
    "CREATE TABLE IF NOT EXISTS kpi_kinds (issuer_id TEXT PRIMARY KEY, kind TEXT NULL)",
)

TABLES = ("kpi_credentials", "kpi_counts", "kpi_monthly", "kpi_requires", "kpi_earned",
          "kpi_endorsements", "kpi_kinds")

INSERT_CREDENTIAL = ("INSERT INTO kpi_credentials (credential_id, issuer_id, achievement_id, recipient,"
                     " issued_micros, status, position) VALUES (?, ?, ?, ?, ?, ?, ?)")
COUNT_ISSUED = ("INSERT INTO kpi_counts (subject, issued, revoked, suspended) VALUES (?, 1, 0, 0)"
                " ON CONFLICT (subject) DO UPDATE SET issued = kpi_counts.issued + 1")
COUNT_MONTH = ("INSERT INTO kpi_monthly (subject, month, issued) VALUES (?, ?, 1)"
               " ON CONFLICT (subject, month) DO UPDATE SET issued = kpi_monthly.issued + 1")
# A status change moves the counters of the registry, the credential's organisation and its
# achievement, by what the credential's status was just before (read in the same statement).
_OF = "(SELECT {column} FROM kpi_credentials WHERE credential_id = ?)"
COUNT_CHANGE = (
    "UPDATE kpi_counts SET revoked = revoked + ?, suspended = suspended + ?"
    " - (SELECT count(*) FROM kpi_credentials WHERE credential_id = ? AND status = 'suspended')"
    f" WHERE subject IN ('{ALL}', {_OF.format(column='issuer_id')}, {_OF.format(column='achievement_id')})"
    " AND EXISTS (SELECT 1 FROM kpi_credentials WHERE credential_id = ?)"
)
SET_STATUS = "UPDATE kpi_credentials SET status = ? WHERE credential_id = ?"
END_REQUIRES = "UPDATE kpi_requires SET until_position = ? WHERE achievement_id = ? AND until_position IS NULL"
INSERT_REQUIRES = ("INSERT INTO kpi_requires (achievement_id, required_id, since_position, until_position)"
                   " VALUES (?, ?, ?, NULL)")
_STANDING = "{t}since_position < ? AND ({t}until_position IS NULL OR {t}until_position > ?)"
# The first award of a pathway achievement to a recipient: the time since their first award of any
# achievement it required (transitively) when it was awarded. No row when they held none of them.
EARNED = (
    "INSERT INTO kpi_earned (achievement_id, recipient, issuer_id, credential_id, micros)"
    " SELECT ?, ?, ?, ?, ? - min(c.issued_micros) FROM kpi_credentials c"
    " WHERE c.recipient = ? AND c.position < ? AND c.achievement_id IN ("
    "  WITH RECURSIVE closure (id) AS ("
    f"   SELECT required_id FROM kpi_requires WHERE achievement_id = ? AND {_STANDING.format(t='')}"
    "   UNION SELECT r.required_id FROM kpi_requires r JOIN closure ON r.achievement_id = closure.id"
    f"   WHERE {_STANDING.format(t='r.')})"
    "  SELECT id FROM closure)"
    " HAVING count(*) > 0"
    " ON CONFLICT (achievement_id, recipient) DO NOTHING"
)
INSERT_ENDORSEMENT = ("INSERT INTO kpi_endorsements (id, endorser_id, subject_kind, subject_issuer_id,"
                      " subject_achievement_id, withdrawn, position) VALUES (?, ?, ?, ?, ?, ?, ?)")
WITHDRAW = "UPDATE kpi_endorsements SET withdrawn = ? WHERE id = ?"
INSERT_KIND = "INSERT INTO kpi_kinds (issuer_id, kind) VALUES (?, ?)"
UPDATE_KIND = "UPDATE kpi_kinds SET kind = ? WHERE issuer_id = ?"


def micros(when: datetime) -> int:
    """Microseconds since the epoch: durations are subtractions on both databases."""
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _kind(value: Any) -> str | None:
    return value if value in KINDS else None


# Phases: rows first (0), counters (1), pathway completions (2, after every award of the batch is
# a row), status changes in event order (3).


def issued(writes, position, event: Credential.Issued, log) -> None:
    at = moment(event.timestamp)
    credential, issuer, achievement = text(event.originator_id), text(event.issuer_id), text(event.achievement_id)
    when = micros(event.timestamp)
    writes.add(INSERT_CREDENTIAL, (credential, issuer, achievement, event.recipient, when, ACTIVE, position))
    for subject in (ALL, issuer, achievement):
        writes.add(COUNT_ISSUED, (subject,), phase=1)
    for subject in (ALL, issuer, achievement):
        writes.add(COUNT_MONTH, (subject, at[:7]), phase=2)
    writes.add(EARNED, (achievement, event.recipient, issuer, credential, when, event.recipient, position,
                        achievement, position, position, position, position), phase=3)


def changed_to(status: str):
    revoked = 1 if status == REVOKED else 0
    suspended = 1 if status == SUSPENDED else 0

    def handler(writes, position, event, log) -> None:
        credential = text(event.originator_id)
        writes.add(COUNT_CHANGE, (revoked, suspended, credential, credential, credential, credential), phase=4)
        writes.add(SET_STATUS, (status, credential), phase=4)

    handler.__name__ = f"kpi_changed_to_{status}"
    return handler


def _requires(writes, position, achievement_id: str, requires) -> None:
    for required in sorted({text(r) for r in requires}):
        writes.add(INSERT_REQUIRES, (achievement_id, required, position))


def defined(writes, position, event: Achievement.Defined, log) -> None:
    _requires(writes, position, text(event.originator_id), event.requires)


def revised(writes, position, event: Achievement.Revised, log) -> None:
    achievement = text(event.originator_id)
    writes.add(END_REQUIRES, (position, achievement))
    _requires(writes, position, achievement, event.requires)


def endorsed(writes, position, event: Endorsement.Endorsed, log) -> None:
    achievement = None
    if event.subject_kind == "achievement":
        achievement = text(event.subject_id)
    elif event.subject_kind == "credential":
        achievement = text(log.created(event.subject_id).achievement_id)
    writes.add(INSERT_ENDORSEMENT, (text(event.originator_id), text(event.endorser_id), event.subject_kind,
                                    text(subject_issuer(event, log)), achievement, False, position))


def withdrawn(writes, position, event: Endorsement.Withdrawn, log) -> None:
    writes.add(WITHDRAW, (True, text(event.originator_id)), phase=1)


def registered(writes, position, event: Issuer.Registered, log) -> None:
    writes.add(INSERT_KIND, (text(event.originator_id), _kind(getattr(event, "kind", None))))


def profile_updated(writes, position, event: Issuer.ProfileUpdated, log) -> None:
    # A field left out (None) keeps its value, as for every profile field; events from before
    # organisations stated a kind are upcast with none.
    kind = getattr(event, "kind", None)
    if kind is not None:
        writes.add(UPDATE_KIND, (_kind(kind), text(event.originator_id)), phase=1)


KPIS = Projection(
    name="kpis",
    version=1,
    tables=TABLES,
    ddl=DDL,
    handlers={
        Credential.Issued: issued,
        Credential.Suspended: changed_to(SUSPENDED),
        Credential.Reinstated: changed_to(ACTIVE),
        Credential.Revoked: changed_to(REVOKED),
        Achievement.Defined: defined,
        Achievement.Revised: revised,
        Endorsement.Endorsed: endorsed,
        Endorsement.Withdrawn: withdrawn,
        Issuer.Registered: registered,
        Issuer.ProfileUpdated: profile_updated,
    },
)


# --- reads -----------------------------------------------------------------------------------------


class MonthCount(msgspec.Struct, frozen=True):
    month: str  # YYYY-MM (UTC)
    issued: int


class TimeToEarn(msgspec.Struct, frozen=True):
    """Durations from a recipient's first award in a pathway to the award completing it."""

    count: int
    median_seconds: float | None
    p25_seconds: float | None
    p75_seconds: float | None


class PathwayTime(msgspec.Struct, frozen=True):
    achievement_id: str
    name: str
    time_to_earn: TimeToEarn


class KindCount(msgspec.Struct, frozen=True):
    kind: str  # one of the organisation kinds, or "not-stated"
    endorsements: int


class Kpis(msgspec.Struct, frozen=True):
    scope: str  # registry, issuer or achievement
    issuer: str | None  # the organisation's slug (issuer and achievement scopes)
    issuer_name: str | None
    achievement_id: str | None
    achievement_name: str | None
    pathway: bool | None  # of an achievement: whether it requires others (None for other scopes)
    months: list[MonthCount]  # oldest first, every month of the window (zeros included)
    issued: int  # all time
    revoked: int
    suspended: int  # suspended now
    revocation_rate: float | None  # revoked / issued; None when nothing was issued
    suspension_rate: float | None
    time_to_earn: TimeToEarn  # over every pathway in scope
    pathways: list[PathwayTime]  # the pathways in scope with most completions first
    endorsements: list[KindCount]  # standing endorsements received, by the endorser's kind
    endorsements_total: int


def window(now: datetime, months: int) -> list[str]:
    """The last `months` months (UTC) up to the one `now` is in, oldest first."""
    now = now.astimezone(timezone.utc)
    year, month = now.year, now.month
    found = []
    for _ in range(months):
        found.append(f"{year:04d}-{month:02d}")
        month -= 1
        if month == 0:
            year, month = year - 1, 12
    return found[::-1]


def counts(db: Database, subject: str) -> tuple[int, int, int]:
    rows = db.query("SELECT issued, revoked, suspended FROM kpi_counts WHERE subject = ?", (subject,))
    return tuple(rows[0]) if rows else (0, 0, 0)


def monthly(db: Database, subject: str, months: list[str]) -> list[MonthCount]:
    found = dict(db.query("SELECT month, issued FROM kpi_monthly WHERE subject = ? AND month >= ? AND month <= ?",
                          (subject, months[0], months[-1])))
    return [MonthCount(m, found.get(m, 0)) for m in months]


_EARNED_WHERE = {"achievement": "achievement_id = ?", "issuer": "issuer_id = ?", "registry": "1 = 1"}


def time_to_earn(db: Database, scope: str, key: str | None) -> TimeToEarn:
    """Count, median and quartiles (linear between the nearest ranks) of the completion times in
    scope, each read from the index in order (no durations fetched beyond two per figure)."""
    where = _EARNED_WHERE[scope]
    params: tuple = () if scope == "registry" else (key,)
    (n,), = db.query(f"SELECT count(*) FROM kpi_earned WHERE {where}", params)
    if n == 0:
        return TimeToEarn(0, None, None, None)

    def quantile(q: float) -> float:
        rank = q * (n - 1)
        low = int(rank)
        rows = db.query(f"SELECT micros FROM kpi_earned WHERE {where} ORDER BY micros LIMIT 2 OFFSET ?",
                        (*params, low))
        a = rows[0][0]
        b = rows[1][0] if len(rows) > 1 else a
        return (a + (b - a) * (rank - low)) / 1_000_000

    return TimeToEarn(n, quantile(0.5), quantile(0.25), quantile(0.75))


def pathways(db: Database, scope: str, key: str | None, limit: int = 20) -> list[tuple[str, int]]:
    """(pathway achievement id, completions) in scope, most completions first."""
    if scope == "achievement":
        return []
    where = _EARNED_WHERE[scope]
    params: tuple = () if scope == "registry" else (key,)
    return [(a, n) for a, n in db.query(
        f"SELECT achievement_id, count(*) FROM kpi_earned WHERE {where} GROUP BY achievement_id"
        " ORDER BY count(*) DESC, achievement_id LIMIT ?", (*params, limit))]


def endorsements_by_kind(db: Database, scope: str, key: str | None) -> list[KindCount]:
    """Standing endorsements received in scope by the endorser's kind (every kind listed, zeros
    included, "not-stated" last). An organisation's endorsements of its own achievements or
    credentials are not counted: they come from no stakeholder."""
    where = {"registry": "1 = 1", "issuer": "e.subject_issuer_id = ?",
             "achievement": "e.subject_achievement_id = ?"}[scope]
    params: tuple = () if scope == "registry" else (key,)
    rows = db.query(
        "SELECT k.kind, count(*) FROM kpi_endorsements e LEFT JOIN kpi_kinds k ON k.issuer_id = e.endorser_id"
        f" WHERE {where} AND e.withdrawn = ? AND e.endorser_id <> e.subject_issuer_id GROUP BY k.kind",
        (*params, False))
    found = dict.fromkeys((*KINDS, NOT_STATED), 0)
    for kind, n in rows:
        found[kind if kind in KINDS else NOT_STATED] += n
    return [KindCount(kind, n) for kind, n in found.items()]


def achievement_names(db: Database, ids: list[str]) -> dict[str, str]:
    if not ids:
        return {}
    return dict(db.query(f"SELECT id, name FROM achievements WHERE id IN ({', '.join('?' * len(ids))})", ids))


def kpis(db: Database, scope: str, key: str | None, now: datetime, months: int,
         issuer: Any = None, achievement: Any = None) -> Kpis:
    """Every figure of one scope (registry, issuer or achievement; `key` is the organisation's or
    achievement's id), with the window of months ending in the one `now` is in."""
    subject = ALL if key is None else key
    issued_n, revoked_n, suspended_n = counts(db, subject)
    if scope == "achievement":
        paths = []
    else:
        found = pathways(db, scope, key)
        names = achievement_names(db, [a for a, _ in found])
        paths = [PathwayTime(a, names.get(a, a), time_to_earn(db, "achievement", a)) for a, _ in found]
    by_kind = endorsements_by_kind(db, scope, key)
    owner = achievement.issuer if achievement is not None else issuer.slug if issuer is not None else None
    owner_name = (achievement.issuer_name if achievement is not None else
                  issuer.name if issuer is not None else None)
    return Kpis(
        scope=scope, issuer=owner, issuer_name=owner_name,
        achievement_id=None if achievement is None else achievement.id,
        achievement_name=None if achievement is None else achievement.name,
        pathway=None if achievement is None else bool(achievement.requires),
        months=monthly(db, subject, window(now, months)),
        issued=issued_n, revoked=revoked_n, suspended=suspended_n,
        revocation_rate=revoked_n / issued_n if issued_n else None,
        suspension_rate=suspended_n / issued_n if issued_n else None,
        time_to_earn=time_to_earn(db, scope, key), pathways=paths,
        endorsements=by_kind, endorsements_total=sum(k.endorsements for k in by_kind),
    )

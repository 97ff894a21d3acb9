"""The event log bench/read_side.py reads back: built through the registry's own use cases on
SQLite (signed credentials in batches, revocations, suspensions and reinstatements, custodial
endorsements and withdrawals, key rotations and compromises, trust anchors), interleaved as a
registry's life would interleave them, then copied event by event into PostgreSQL.

Nothing here touches the read model: the catch-up measured afterwards starts from position 0."""

from __future__ import annotations

import random
import sqlite3
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from eventsourcing.persistence import StoredEvent

from issuance_verification import awards, module_badges, open_store, take  # a sibling script
from registry import demo
from registry.bootstrap import Registry
from registry.commands import Actor, Award
from registry.domain.identity import issuer_id

ACTOR = Actor("bench")
BATCH = 1000  # credentials per issue_batch (one transaction)
CONSORTIUM_SHARE = 0.8  # of each batch: the consortium's module badges; the rest, organisations'
EVENTS_PER_CREDENTIAL = 3.25  # Issued + StatusListSlot.Allocated + Awarded (+ Enrolled per learner)
COPY_PAGE = 500  # events per PostgreSQL transaction when copying the log (2000, ~6 MB, once hung
# in psycopg's pipeline sync under heavy machine load)


@dataclass(frozen=True)
class Plan:
    events: int  # the log holds at least this many events in the end
    organisations: int  # hosted issuers besides the demo's, two achievements each
    revocations: int  # of the consortium's credentials: its status list 1
    other_revocations: int  # of organisations' credentials
    suspensions: int
    reinstatements: int  # of the suspended ones
    endorsements: int  # custodial (signed by the registry for the endorser)
    withdrawals: int
    rotations: int  # key rotations of organisations
    compromises: int  # reported key compromises (the issuer gets a new key)
    anchors: int  # trust anchors


DEFAULT = Plan(events=100_000, organisations=100, revocations=10_000, other_revocations=300,
               suspensions=1_000, reinstatements=400, endorsements=1_500, withdrawals=150,
               rotations=100, compromises=5, anchors=3)
QUICK = Plan(events=8_000, organisations=10, revocations=600, other_revocations=20, suspensions=60,
             reinstatements=20, endorsements=100, withdrawals=10, rotations=8, compromises=1, anchors=2)


@dataclass
class Built:
    """What the generator did, to check the read side's answers against."""

    status: dict[str, str] = field(default_factory=dict)  # credential id -> active/suspended/revoked
    consortium_credentials: list[str] = field(default_factory=list)
    endorsements: list[str] = field(default_factory=list)
    seconds: float = 0.0
    first_event_at: str = ""  # ISO instants bounding the log, for "as of" lookups
    last_event_at: str = ""
    topics: dict[str, int] = field(default_factory=dict)  # events in the log by class name


class _Life:
    """One registry's history, written through the use cases."""

    def __init__(self, registry: Registry, plan: Plan, seed: int) -> None:
        self.registry = registry
        self.plan = plan
        self.rng = random.Random(seed)
        self.built = Built()
        self.done: Counter[str] = Counter()
        self.organisations: list[str] = []
        self.achievements: list[tuple[str, str]] = []  # (issuer slug, achievement id)
        self.members = 0
        self.others: list[str] = []  # organisations' credentials

    def found(self) -> None:
        if self.plan.organisations < 2:  # an endorser needs another organisation's achievement
            raise ValueError(f"the plan needs at least 2 organisations, not {self.plan.organisations}")
        self.consortium_awards = awards(module_badges(self.registry), seed=self.rng.randrange(1 << 30))
        for n in range(self.plan.organisations):
            slug = f"org-{n:04d}"
            self.registry.commands.issuers.register(slug=slug, name=f"Organisation {n}", url=f"https://{slug}.example",
                                          description=f"Training provider number {n}.", actor=ACTOR)
            self.organisations.append(slug)
            for course in ("Workplace safety", "Customer care"):
                achievement = self.registry.commands.achievements.define(issuer=slug, actor=ACTOR, definition={
                    "name": f"{course} ({slug})",
                    "description": f"The holder completed {slug}'s {course.lower()} course.",
                    "criteria": {"narrative": f"Passed the final assessment of the {course.lower()} course."},
                }).id
                self.achievements.append((slug, achievement))

    def batch(self) -> None:
        consortium = round(BATCH * CONSORTIUM_SHARE)
        batch = take(self.consortium_awards, consortium)
        for _ in range(BATCH - consortium):
            self.members += 1
            slug, achievement = self.rng.choice(self.achievements)
            batch.append(Award(f"member{self.members:07d}@{slug}.example", achievement,
                               f"{self.rng.randint(55, 100)}%"))
        written = self.registry.commands.credentials.issue_batch(batch, actor=ACTOR)
        self.built.status.update(dict.fromkeys(written.ids, "active"))
        self.built.consortium_credentials += written.ids[:consortium]
        self.others += written.ids[consortium:]

    def _due(self, what: str, total: int, share: float) -> int:
        return max(0, round(total * share) - self.done[what])

    def activity(self, share: float) -> None:
        """Everything but issuance, up to `share` of the plan (called after each batch)."""
        plan, rng, registry, status = self.plan, self.rng, self.registry, self.built.status
        active = [c for c in self.built.consortium_credentials if status[c] == "active"]
        for credential in rng.sample(active, min(len(active), self._due("revoked", plan.revocations, share))):
            registry.commands.credentials.revoke(credential, reason="the assessment was found invalid", actor=ACTOR)
            status[credential] = "revoked"
            self.done["revoked"] += 1
        others = [c for c in self.others if status[c] == "active"]
        for credential in rng.sample(others, min(len(others), self._due("other", plan.other_revocations, share))):
            registry.commands.credentials.revoke(credential, reason="issued in error", actor=ACTOR)
            status[credential] = "revoked"
            self.done["other"] += 1
        active = [c for c in status if status[c] == "active"]
        for credential in rng.sample(active, min(len(active), self._due("suspended", plan.suspensions, share))):
            registry.commands.credentials.suspend(credential, reason="under investigation", actor=ACTOR)
            status[credential] = "suspended"
            self.done["suspended"] += 1
        suspended = [c for c in status if status[c] == "suspended"]
        for credential in rng.sample(suspended, min(len(suspended),
                                                    self._due("reinstated", plan.reinstatements, share))):
            registry.commands.credentials.reinstate(credential, reason="investigation closed", actor=ACTOR)
            status[credential] = "active"
            self.done["reinstated"] += 1
        for _ in range(self._due("endorsed", plan.endorsements, share)):
            self._endorse()
        for endorsement in rng.sample(self.built.endorsements,
                                      min(len(self.built.endorsements), self._due("withdrawn", plan.withdrawals, share))):
            registry.commands.endorsements.withdraw(endorsement, reason="the partnership ended", actor=ACTOR)
            self.built.endorsements.remove(endorsement)
            self.done["withdrawn"] += 1
        for slug in rng.sample(self.organisations, min(len(self.organisations),
                                                       self._due("rotated", plan.rotations, share))):
            registry.commands.issuers.rotate_key(slug, actor=ACTOR)
            self.done["rotated"] += 1
        for slug in rng.sample(self.organisations, min(len(self.organisations),
                                                       self._due("compromised", plan.compromises, share))):
            # The aggregate, not the read side: nothing may catch the read models up before the
            # catch-up that read_side.py measures from position 0.
            issuer = registry.store.repository.get(issuer_id(slug))
            registry.commands.issuers.report_compromise(
                slug, verification_method=issuer.active_key.verification_method,
                since=datetime.now(timezone.utc) - timedelta(hours=6), actor=ACTOR)
            self.done["compromised"] += 1
        candidates = [demo.CONSORTIUM, *self.organisations]
        for slug in candidates[self.done["anchors"]:self.done["anchors"] + self._due("anchors", plan.anchors, share)]:
            registry.commands.trust.add_anchor(slug, actor=ACTOR)
            self.done["anchors"] += 1

    def _endorse(self) -> None:
        """An organisation endorses another organisation (half), an achievement (40 %) or a
        credential (10 %), never its own."""
        endorsers = [demo.CONSORTIUM, *self.organisations]
        by = self.rng.choice(endorsers)
        draw = self.rng.random()
        if draw < 0.5:
            subject = self.rng.choice([s for s in endorsers if s != by])
        elif draw < 0.9:
            subject = self.rng.choice([a for slug, a in self.achievements if slug != by])
        else:
            subject = self.rng.choice(self.others)
        written = self.registry.commands.endorsements.endorse(by=by, subject=subject, actor=ACTOR,
                                        comment="We recognise this in our own programmes.")
        self.built.endorsements.append(written.id)
        self.done["endorsed"] += 1


def build_log(home: Path, plan: Plan, seed: int = 2026) -> tuple[Registry, Built]:
    """A registry on SQLite under `home` whose log holds at least `plan.events` events."""
    began = time.perf_counter()
    registry = open_store(home)
    life = _Life(registry, plan, seed)
    life.found()
    # Planned rounds of issuance, each followed by its share of everything else; then top up.
    other_events = (plan.revocations + plan.other_revocations + plan.suspensions + plan.reinstatements
                    + plan.endorsements + plan.withdrawals + plan.rotations + 2 * plan.compromises + plan.anchors)
    credentials = max(BATCH, (plan.events - registry.store.max_position() - other_events) / EVENTS_PER_CREDENTIAL)
    rounds = max(1, round(credentials / BATCH))
    for n in range(1, rounds + 1):
        life.batch()
        life.activity(n / rounds)
    while registry.store.max_position() < plan.events:
        life.batch()
    life.built.seconds = time.perf_counter() - began
    life.built.topics = log_topics(home)
    first, last = (registry.store.recorder.select_notifications(start=i, limit=1)[0]
                   for i in (1, registry.store.max_position()))
    life.built.first_event_at = registry.store.mapper.to_domain_event(first).timestamp.isoformat()
    life.built.last_event_at = registry.store.mapper.to_domain_event(last).timestamp.isoformat()
    return registry, life.built


def sqlite_path(home: Path) -> Path:
    return home / "data" / "registry.sqlite"


def log_topics(home: Path) -> dict[str, int]:
    """Events by class name, counted in the SQLite table itself (not through any projection)."""
    with sqlite3.connect(sqlite_path(home)) as connection:
        rows = connection.execute("SELECT topic, count(*) FROM stored_events GROUP BY topic").fetchall()
    return {topic.rsplit(":", 1)[-1]: count for topic, count in sorted(rows)}


def copy_log(source: Registry, target: Registry) -> float:
    """Every event of `source`, in log order, appended to `target`'s (empty) log; seconds taken."""
    source, target = source.store, target.store
    if target.max_position():
        raise RuntimeError("the PostgreSQL log is not empty: the copy would not start at position 1")
    began = time.perf_counter()
    start, stop = 1, source.max_position()
    while start <= stop:
        page = source.recorder.select_notifications(start=start, limit=COPY_PAGE, stop=stop)
        target.recorder.insert_events([StoredEvent(n.originator_id, n.originator_version, n.topic, n.state)
                                       for n in page])
        start = page[-1].id + 1
    if target.max_position() != stop:
        raise RuntimeError(f"copied log ends at {target.max_position()}, the source at {stop}")
    return time.perf_counter() - began

"""TrustAnchors: the organisations this registry trusts without being told to by anyone else. A
verifier asks whether a chain of standing endorsements reaches an issuer from one of them.

One aggregate for the whole registry (a fixed id), so that "is X already an anchor?" is answered by
one consistent state and two concurrent additions collide in the event store. Anchors are kept as
intervals, so the set of anchors at any past instant can be answered too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from registry.domain.errors import AlreadyExists, DomainError, NotFound
from registry.domain.identity import NAMESPACE
from registry.domain.issuer import Issuer


def trust_anchors_id() -> UUID:
    return uuid5(NAMESPACE, "trust-anchors")


@dataclass
class AnchorInterval:
    """One time an issuer was an anchor: from `added_at` until `removed_at` (None: still one)."""

    issuer_id: UUID
    slug: str
    added_at: datetime
    removed_at: datetime | None = None
    removed_reason: str | None = None

    def holds_at(self, at: datetime | None) -> bool:
        if at is None:
            return self.removed_at is None
        return self.added_at <= at and (self.removed_at is None or self.removed_at > at)


class TrustAnchors(Aggregate):
    class Started(Aggregate.Created):
        actor: str

    class AnchorAdded(Aggregate.Event):
        issuer_id: UUID
        slug: str
        actor: str

        def apply(self, anchors: TrustAnchors) -> None:
            anchors.intervals.append(AnchorInterval(self.issuer_id, self.slug, self.timestamp))

    class AnchorRemoved(Aggregate.Event):
        issuer_id: UUID
        slug: str
        reason: str
        actor: str

        def apply(self, anchors: TrustAnchors) -> None:
            interval = anchors.current(self.issuer_id)
            assert interval is not None  # remove() checked it
            interval.removed_at = self.timestamp
            interval.removed_reason = self.reason

    @classmethod
    def start(cls, *, actor: str) -> TrustAnchors:
        return cls._create(cls.Started, id=trust_anchors_id(), actor=actor)

    def __init__(self, actor: str) -> None:
        self.intervals: list[AnchorInterval] = []

    def current(self, issuer_id: UUID) -> AnchorInterval | None:
        return next((i for i in self.intervals if i.issuer_id == issuer_id and i.removed_at is None), None)

    def at(self, at: datetime | None = None) -> list[AnchorInterval]:
        """The anchors standing at `at` (now when None), by slug."""
        return sorted((i for i in self.intervals if i.holds_at(at)), key=lambda i: i.slug)

    def add(self, issuer: Issuer, *, actor: str) -> None:
        """Rules: only a registered, active organisation can be an anchor, and only once at a time."""
        if not issuer.is_active:
            raise DomainError(f"issuer {issuer.slug} is deactivated and cannot be a trust anchor")
        if self.current(issuer.id) is not None:
            raise AlreadyExists(f"{issuer.slug} is already a trust anchor")
        self.trigger_event(self.AnchorAdded, issuer_id=issuer.id, slug=issuer.slug, actor=actor)

    def remove(self, issuer: Issuer, *, reason: str, actor: str) -> None:
        if self.current(issuer.id) is None:
            raise NotFound(f"{issuer.slug} is not a trust anchor")
        if not reason.strip():
            raise DomainError("removing a trust anchor needs a reason")
        self.trigger_event(self.AnchorRemoved, issuer_id=issuer.id, slug=issuer.slug, reason=reason,
                           actor=actor)

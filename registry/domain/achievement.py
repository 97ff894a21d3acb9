"""Achievement: a badge class. Revisions add versions (old versions stay resolvable); a retired
achievement can no longer be awarded.

A pathway is an achievement with requirements: other achievements of the same issuer, each
optionally at a minimum level of its ladder (registry.domain.ladder). An `automatic` pathway is
awarded by the registry itself, in the transaction of the award that completes it (the Super Badge
when the fifth module reaches Excellent)."""

from __future__ import annotations

from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from registry.domain.errors import DomainError, InvalidTransition


def _requirements_v2(state: dict) -> None:
    """Defined and Revised before version 2 had no minimum levels and no automatic award."""
    state["minimum_levels"] = {}
    state["automatic"] = False


class Achievement(Aggregate):
    class Defined(Aggregate.Created):
        issuer_id: UUID
        name: str
        document: str  # the OB 3.0 Achievement as JSON text, exactly as published
        requires: tuple[UUID, ...]
        actor: str
        # Version 2: per required achievement (its UUID as text), the id of the lowest level of its
        # ladder that counts; and whether the registry awards this achievement itself.
        minimum_levels: dict[str, str]
        automatic: bool

        class_version = 2
        upcast_v1_v2 = staticmethod(_requirements_v2)

    class Revised(Aggregate.Event):
        name: str
        document: str
        requires: tuple[UUID, ...]
        actor: str
        minimum_levels: dict[str, str]
        automatic: bool

        class_version = 2
        upcast_v1_v2 = staticmethod(_requirements_v2)

        def apply(self, achievement: Achievement) -> None:
            achievement.name = self.name
            achievement.requires = self.requires
            achievement.minimum_levels = self.minimum_levels
            achievement.automatic = self.automatic
            achievement.versions.append(self.document)

    class Retired(Aggregate.Event):
        reason: str
        actor: str

        def apply(self, achievement: Achievement) -> None:
            achievement.retired_reason = self.reason
            achievement.retired_at = self.timestamp

    @staticmethod
    def new_id() -> UUID:
        return uuid4()

    @classmethod
    def define(cls, *, id: UUID, issuer_id: UUID, name: str, document: str,
               requires: tuple[UUID, ...] = (), actor: str, minimum_levels: dict[str, str] | None = None,
               automatic: bool = False) -> Achievement:
        if not name.strip():
            raise DomainError("an achievement needs a non-empty name")
        minimum_levels = dict(minimum_levels or {})
        cls._check_requirements(id, requires, minimum_levels, automatic)
        return cls._create(cls.Defined, id=id, issuer_id=issuer_id, name=name, document=document,
                           requires=tuple(requires), actor=actor, minimum_levels=minimum_levels,
                           automatic=automatic)

    @staticmethod
    def _check_requirements(id: UUID, requires: tuple[UUID, ...], minimum_levels: dict[str, str],
                            automatic: bool) -> None:
        if id in requires:
            raise DomainError("an achievement cannot require itself")
        if set(minimum_levels) - {str(r) for r in requires}:
            raise DomainError("a minimum level is given for an achievement that is not required")
        if automatic and not requires:
            raise DomainError("only an achievement with requirements can be awarded automatically")

    def __init__(self, issuer_id: UUID, name: str, document: str, requires: tuple[UUID, ...],
                 actor: str, minimum_levels: dict[str, str] | None = None, automatic: bool = False) -> None:
        self.issuer_id = issuer_id
        self.name = name
        self.requires = requires
        self.minimum_levels: dict[str, str] = dict(minimum_levels or {})
        self.automatic = automatic
        self.versions: list[str] = [document]
        self.retired_at = None
        self.retired_reason: str | None = None

    @property
    def current_version(self) -> int:
        return len(self.versions)

    @property
    def document(self) -> str:
        return self.versions[-1]

    def revise(self, *, name: str, document: str, requires: tuple[UUID, ...], actor: str,
               minimum_levels: dict[str, str] | None = None, automatic: bool = False) -> int:
        self.require_awardable()
        minimum_levels = dict(minimum_levels or {})
        self._check_requirements(self.id, requires, minimum_levels, automatic)
        self.trigger_event(self.Revised, name=name, document=document, requires=tuple(requires),
                           actor=actor, minimum_levels=minimum_levels, automatic=automatic)
        return self.current_version

    def retire(self, *, reason: str, actor: str) -> None:
        if self.retired_at is not None:
            raise InvalidTransition(f"achievement {self.id} is already retired")
        self.trigger_event(self.Retired, reason=reason, actor=actor)

    def require_awardable(self) -> None:
        if self.retired_at is not None:
            raise InvalidTransition(
                f"achievement {self.id} ({self.name}) is retired and cannot be awarded or revised"
            )

"""Achievement: a badge class. Revisions add versions (old versions stay resolvable); a retired
achievement can no longer be awarded."""

from __future__ import annotations

from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from registry.domain.errors import DomainError, InvalidTransition


class Achievement(Aggregate):
    class Defined(Aggregate.Created):
        issuer_id: UUID
        name: str
        document: str  # the OB 3.0 Achievement as JSON text, exactly as published
        requires: tuple[UUID, ...]
        actor: str

    class Revised(Aggregate.Event):
        name: str
        document: str
        requires: tuple[UUID, ...]
        actor: str

        def apply(self, achievement: Achievement) -> None:
            achievement.name = self.name
            achievement.requires = self.requires
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
               requires: tuple[UUID, ...] = (), actor: str) -> Achievement:
        if not name.strip():
            raise DomainError("an achievement needs a non-empty name")
        if id in requires:
            raise DomainError("an achievement cannot require itself")
        return cls._create(cls.Defined, id=id, issuer_id=issuer_id, name=name, document=document,
                           requires=tuple(requires), actor=actor)

    def __init__(self, issuer_id: UUID, name: str, document: str, requires: tuple[UUID, ...],
                 actor: str) -> None:
        self.issuer_id = issuer_id
        self.name = name
        self.requires = requires
        self.versions: list[str] = [document]
        self.retired_at = None
        self.retired_reason: str | None = None

    @property
    def current_version(self) -> int:
        return len(self.versions)

    @property
    def document(self) -> str:
        return self.versions[-1]

    def revise(self, *, name: str, document: str, requires: tuple[UUID, ...], actor: str) -> int:
        self.require_awardable()
        if self.id in requires:
            raise DomainError("an achievement cannot require itself")
        self.trigger_event(self.Revised, name=name, document=document, requires=tuple(requires),
                           actor=actor)
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

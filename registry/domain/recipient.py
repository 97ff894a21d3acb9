"""Recipient: the credentials awarded to one learner, so that a badge which requires others (the
Super Badge requires the five Excellent badges) can check what the learner holds. Identified by the
stored recipient form (a DID or a keyed hash of an e-mail address), never by a plain address."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from registry.domain.identity import recipient_id


class Recipient(Aggregate):
    class Enrolled(Aggregate.Created):
        recipient: str

    class Awarded(Aggregate.Event):
        credential_id: UUID
        achievement_id: UUID

        def apply(self, recipient: Recipient) -> None:
            recipient.awards.append((self.credential_id, self.achievement_id))

    @classmethod
    def enrol(cls, recipient: str) -> Recipient:
        return cls._create(cls.Enrolled, id=recipient_id(recipient), recipient=recipient)

    def __init__(self, recipient: str) -> None:
        self.recipient = recipient
        self.awards: list[tuple[UUID, UUID]] = []

    def award(self, *, credential_id: UUID, achievement_id: UUID) -> None:
        self.trigger_event(self.Awarded, credential_id=credential_id, achievement_id=achievement_id)

    def credentials_for(self, achievement_id: UUID) -> list[UUID]:
        return [c for c, a in self.awards if a == achievement_id]

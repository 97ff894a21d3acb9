"""Endorsement: a signed EndorsementCredential by a registered organisation about an issuer, an
achievement or a credential. It stands until it is withdrawn."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from registry.domain.errors import AlreadyExists, DomainError, InvalidTransition
from registry.domain.identity import standing_endorsement_id
from registry.domain.issuer import Issuer

SUBJECT_KINDS = ("issuer", "achievement", "credential")


class Endorsement(Aggregate):
    class Endorsed(Aggregate.Created):
        endorser_id: UUID
        subject_kind: str
        subject_id: UUID
        subject_iri: str  # the credentialSubject.id of the endorsement document
        comment: str
        document: str  # the signed EndorsementCredential, JSON text
        verification_method: str
        custodial: bool  # True: the registry signed for the endorser with a key it holds
        actor: str

    class Withdrawn(Aggregate.Event):
        reason: str
        actor: str

        def apply(self, endorsement: Endorsement) -> None:
            endorsement.withdrawn_at = self.timestamp
            endorsement.withdrawn_reason = self.reason

    @staticmethod
    def new_id() -> UUID:
        return uuid4()

    @classmethod
    def give(cls, *, id: UUID, endorser: Issuer, subject_kind: str, subject_id: UUID,
             subject_iri: str, comment: str, document: str, verification_method: str,
             custodial: bool, actor: str) -> Endorsement:
        """Rules: the endorser is a registered, active organisation and the signing key is one of
        its keys that is active now; an organisation does not endorse itself."""
        if subject_kind not in SUBJECT_KINDS:
            raise DomainError(f"cannot endorse a {subject_kind!r}: one of {', '.join(SUBJECT_KINDS)}")
        key = endorser.require_signing_key()
        if key.verification_method != verification_method:
            raise InvalidTransition(
                f"{verification_method} is not the active key of {endorser.slug}"
            )
        if subject_kind == "issuer" and subject_id == endorser.id:
            raise DomainError(f"{endorser.slug} cannot endorse itself")
        if not comment.strip():
            raise DomainError("an endorsement needs a comment")
        return cls._create(
            cls.Endorsed, id=id, endorser_id=endorser.id, subject_kind=subject_kind,
            subject_id=subject_id, subject_iri=subject_iri, comment=comment, document=document,
            verification_method=verification_method, custodial=custodial, actor=actor,
        )

    def __init__(self, endorser_id: UUID, subject_kind: str, subject_id: UUID, subject_iri: str,
                 comment: str, document: str, verification_method: str, custodial: bool,
                 actor: str) -> None:
        self.endorser_id = endorser_id
        self.subject_kind = subject_kind
        self.subject_id = subject_id
        self.subject_iri = subject_iri
        self.comment = comment
        self.document = document
        self.verification_method = verification_method
        self.custodial = custodial
        self.withdrawn_at: datetime | None = None
        self.withdrawn_reason: str | None = None

    def withdraw(self, *, reason: str, actor: str) -> None:
        if self.withdrawn_at is not None:
            raise InvalidTransition(f"endorsement {self.id} is already withdrawn")
        if not reason.strip():
            raise DomainError("a withdrawal needs a reason")
        self.trigger_event(self.Withdrawn, reason=reason, actor=actor)


class StandingEndorsement(Aggregate):
    """Which endorsement of one endorser about one subject stands now: one per (endorser, subject),
    so the same endorsement cannot be given twice (two requests at once collide in the event store
    like two registrations of one slug do). Withdrawing it frees the pair for a new endorsement."""

    class Started(Aggregate.Created):
        endorser_id: UUID
        subject_id: UUID
        endorsement_id: UUID

    class Renewed(Aggregate.Event):
        endorsement_id: UUID

        def apply(self, standing: StandingEndorsement) -> None:
            standing.endorsement_id = self.endorsement_id

    class Ended(Aggregate.Event):
        endorsement_id: UUID

        def apply(self, standing: StandingEndorsement) -> None:
            standing.endorsement_id = None

    @classmethod
    def start(cls, *, endorser_id: UUID, subject_id: UUID, endorsement_id: UUID) -> StandingEndorsement:
        return cls._create(cls.Started, id=standing_endorsement_id(endorser_id, subject_id),
                           endorser_id=endorser_id, subject_id=subject_id, endorsement_id=endorsement_id)

    def __init__(self, endorser_id: UUID, subject_id: UUID, endorsement_id: UUID) -> None:
        self.endorser_id = endorser_id
        self.subject_id = subject_id
        self.endorsement_id: UUID | None = endorsement_id

    def renew(self, endorsement_id: UUID, *, endorser: str, subject: str) -> None:
        if self.endorsement_id is not None:
            raise AlreadyExists(f"{endorser} already endorses {subject} (endorsement {self.endorsement_id}); "
                                "withdraw it first to give a new one")
        self.trigger_event(self.Renewed, endorsement_id=endorsement_id)

    def end(self, endorsement_id: UUID) -> None:
        if self.endorsement_id == endorsement_id:
            self.trigger_event(self.Ended, endorsement_id=endorsement_id)

"""Credential: an issued OpenBadgeCredential. The exact signed document is part of the fact that it
was issued; its status moves between active and suspended until it is revoked, which is final.
Expiry is derived from validUntil, never recorded as an event."""

from __future__ import annotations

import json
from datetime import datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from registry.domain.achievement import Achievement
from registry.domain.errors import DomainError, InvalidTransition
from registry.domain.issuer import Issuer

ACTIVE, SUSPENDED, REVOKED = "active", "suspended", "revoked"


class Credential(Aggregate):
    class Issued(Aggregate.Created):
        issuer_id: UUID
        achievement_id: UUID
        achievement_version: int
        recipient: str  # as stored: a DID, or a keyed hash of an e-mail address (never the address)
        document: str  # the signed credential, JSON text, byte for byte as handed out
        verification_method: str
        valid_from: datetime
        valid_until: datetime | None
        actor: str
        # The BitstringStatusListEntry in the document: its list credential's URL and its index.
        # Version 1 events predate status lists: their credentials carry no entry.
        status_list: str | None
        status_list_index: int | None
        # Version 3: the credential whose award completed this pathway (an automatic award);
        # None for an award someone asked for.
        caused_by: UUID | None

        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict) -> None:
            state["status_list"] = None
            state["status_list_index"] = None

        @staticmethod
        def upcast_v2_v3(state: dict) -> None:
            state["caused_by"] = None

    class Suspended(Aggregate.Event):
        reason: str
        actor: str

        def apply(self, credential: Credential) -> None:
            credential.status, credential.reason = SUSPENDED, self.reason

    class Reinstated(Aggregate.Event):
        reason: str
        actor: str

        def apply(self, credential: Credential) -> None:
            credential.status, credential.reason = ACTIVE, self.reason

    class Revoked(Aggregate.Event):
        reason: str
        actor: str

        def apply(self, credential: Credential) -> None:
            credential.status, credential.reason = REVOKED, self.reason
            credential.revoked_at = self.timestamp

    @staticmethod
    def new_id() -> UUID:
        return uuid4()

    @classmethod
    def issue(cls, *, id: UUID, issuer: Issuer, achievement: Achievement, recipient: str,
              document: str, verification_method: str, valid_from: datetime,
              valid_until: datetime | None, actor: str, status_list: str | None = None,
              status_list_index: int | None = None, caused_by: UUID | None = None) -> Credential:
        """Rules: the issuer is active and signs with its active key, the achievement is its own and
        not retired, and the validity period is not empty."""
        key = issuer.require_signing_key()
        if key.verification_method != verification_method:
            raise InvalidTransition(
                f"{verification_method} is not the active key of issuer {issuer.slug}"
            )
        if achievement.issuer_id != issuer.id:
            raise DomainError(
                f"achievement {achievement.id} belongs to another issuer than {issuer.slug}"
            )
        achievement.require_awardable()
        if valid_until is not None and valid_until <= valid_from:
            raise DomainError("validUntil must be after validFrom")
        return cls._create(
            cls.Issued, id=id, issuer_id=issuer.id, achievement_id=achievement.id,
            achievement_version=achievement.current_version, recipient=recipient,
            document=document, verification_method=verification_method, valid_from=valid_from,
            valid_until=valid_until, actor=actor, status_list=status_list,
            status_list_index=status_list_index, caused_by=caused_by,
        )

    def __init__(self, issuer_id: UUID, achievement_id: UUID, achievement_version: int,
                 recipient: str, document: str, verification_method: str, valid_from: datetime,
                 valid_until: datetime | None, actor: str, status_list: str | None = None,
                 status_list_index: int | None = None, caused_by: UUID | None = None) -> None:
        self.issuer_id = issuer_id
        self.caused_by = caused_by
        self.achievement_id = achievement_id
        self.achievement_version = achievement_version
        self.recipient = recipient
        self.document = document
        self.verification_method = verification_method
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.status_list = status_list
        self.status_list_index = status_list_index
        self.status = ACTIVE
        self.reason: str | None = None
        self.revoked_at: datetime | None = None

    @property
    def achieved_levels(self) -> set[str]:
        """The ids of the levels its results name (achievedLevel), read from the signed document."""
        subject = json.loads(self.document).get("credentialSubject")
        results = subject.get("result") if isinstance(subject, dict) else None
        return {r["achievedLevel"] for r in results or () if isinstance(r, dict) and isinstance(r.get("achievedLevel"), str)}

    def is_valid_at(self, when: datetime) -> bool:
        """Active, and `when` inside its validity period."""
        if self.status != ACTIVE or when < self.valid_from:
            return False
        return self.valid_until is None or when < self.valid_until

    def suspend(self, *, reason: str, actor: str) -> None:
        if self.status != ACTIVE:
            raise InvalidTransition(f"credential {self.id} is {self.status}; only an active credential can be suspended")
        self.trigger_event(self.Suspended, reason=reason, actor=actor)

    def reinstate(self, *, reason: str, actor: str) -> None:
        if self.status != SUSPENDED:
            raise InvalidTransition(f"credential {self.id} is {self.status}; only a suspended credential can be reinstated")
        self.trigger_event(self.Reinstated, reason=reason, actor=actor)

    def revoke(self, *, reason: str, actor: str) -> None:
        if self.status == REVOKED:
            raise InvalidTransition(f"credential {self.id} is already revoked")
        if not reason.strip():
            raise DomainError("a revocation needs a reason")
        self.trigger_event(self.Revoked, reason=reason, actor=actor)

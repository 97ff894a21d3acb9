"""StatusListSlot: one entry of an issuer's status list, taken by one credential.

The slot's id is derived from (issuer, purpose, list, index), so two credentials given the same
entry collide in the event store's identity constraint: the second transaction fails as a whole
and is retried with a new draw. No entry is ever handed out twice, whatever the concurrency."""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate

from registry.domain.errors import DomainError
from registry.domain.identity import NAMESPACE

REVOCATION = "revocation"
# The W3C minimum (16 KiB of bits): every list is this long, so a list reveals little about
# which credential a verifier asks about (herd privacy).
LIST_SIZE = 131_072


def status_slot_id(issuer_id: UUID, purpose: str, list_number: int, index: int) -> UUID:
    return uuid5(NAMESPACE, f"status-slot:{issuer_id}:{purpose}:{list_number}:{index}")


class StatusListSlot(Aggregate):
    class Allocated(Aggregate.Created):
        issuer_id: UUID
        purpose: str
        list_number: int
        index: int
        credential_id: UUID

    @classmethod
    def allocate(cls, *, issuer_id: UUID, purpose: str, list_number: int, index: int,
                 credential_id: UUID, list_size: int = LIST_SIZE) -> StatusListSlot:
        """Rules: lists are numbered from 1; the index lies inside the list."""
        if list_number < 1:
            raise DomainError(f"status lists are numbered from 1, not {list_number}")
        if not 0 <= index < list_size:
            raise DomainError(f"status list index {index} is outside a list of {list_size} entries")
        return cls._create(
            cls.Allocated, id=status_slot_id(issuer_id, purpose, list_number, index),
            issuer_id=issuer_id, purpose=purpose, list_number=list_number, index=index,
            credential_id=credential_id,
        )

    def __init__(self, issuer_id: UUID, purpose: str, list_number: int, index: int,
                 credential_id: UUID) -> None:
        self.issuer_id = issuer_id
        self.purpose = purpose
        self.list_number = list_number
        self.index = index
        self.credential_id = credential_id

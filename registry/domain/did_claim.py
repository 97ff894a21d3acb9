"""DidClaim: which issuer a DID belongs to. One per DID, so two organisations can never register the
same DID, and a verifier holding only a DID finds the issuer."""

from __future__ import annotations

from eventsourcing.domain import Aggregate

from registry.domain.identity import did_claim_id


class DidClaim(Aggregate):
    class Claimed(Aggregate.Created):
        did: str
        slug: str

    @classmethod
    def claim(cls, *, did: str, slug: str) -> DidClaim:
        return cls._create(cls.Claimed, id=did_claim_id(did), did=did, slug=slug)

    def __init__(self, did: str, slug: str) -> None:
        self.did = did
        self.slug = slug

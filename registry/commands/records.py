"""What commands read before they change anything: aggregates from the event store, found by the
names people use for them. This is the write side's one resolver; the read side has its own over
the projections (registry.projections.queries)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from registry.domain import Achievement, Credential, DidClaim, DomainError, Endorsement, ExtensionContext, Issuer, NotFound
from registry.domain.identity import did_claim_id, extension_context_id, issuer_id
from registry.settings import Config
from registry.store import EventStore
from registry.vc import openbadges


@dataclass(frozen=True)
class Subject:
    """What an endorsement is about: an organisation, an achievement or a credential."""

    kind: str  # issuer, achievement, credential
    id: UUID
    iri: str  # the endorsement's credentialSubject.id


class Records:
    def __init__(self, store: EventStore, config: Config) -> None:
        self.store = store
        self.config = config

    # --- organisations --------------------------------------------------------------------------

    def issuer(self, ref: str) -> Issuer:
        """An organisation by slug, id (UUID or urn:uuid:) or DID."""
        ref = ref.strip()
        if ref.startswith("did:"):
            found = self.issuer_by_did(ref)
            if found is None:
                raise NotFound(f"no issuer with DID {ref}")
            return found
        found = self.store.find(issuer_id(ref))
        if found is None:
            try:
                found = self.store.find(UUID(ref.removeprefix("urn:uuid:")))
            except ValueError:
                pass
        if not isinstance(found, Issuer):
            raise NotFound(f"no issuer with slug {ref!r}")
        return found

    def issuer_by_id(self, uuid: UUID) -> Issuer:
        return self.store.load(uuid, Issuer, "issuer")

    def issuer_by_did(self, did: str) -> Issuer | None:
        claim = self.store.find(did_claim_id(did))
        return self.issuer_by_id(issuer_id(claim.slug)) if isinstance(claim, DidClaim) else None

    def owner(self, aggregate: Achievement | Credential | Endorsement) -> Issuer:
        """The organisation an achievement or credential belongs to, or that gave an endorsement."""
        if isinstance(aggregate, Endorsement):
            return self.issuer_by_id(aggregate.endorser_id)
        return self.issuer_by_id(aggregate.issuer_id)

    @staticmethod
    def profile(issuer: Issuer) -> dict:
        """The OB Profile embedded as `issuer` / `creator` in the documents the registry makes."""
        return openbadges.profile(issuer.did, issuer.name, url=issuer.url, email=issuer.email,
                                  description=issuer.description, image=issuer.image, phone=issuer.phone,
                                  address=issuer.address, other_identifier=issuer.other_identifier)

    # --- what organisations own -----------------------------------------------------------------

    def achievement(self, ref: str | UUID) -> Achievement:
        return self.store.load(self.uuid(ref, "achievement"), Achievement, "achievement")

    def credential(self, ref: str | UUID) -> Credential:
        return self.store.load(self.uuid(ref, "credential"), Credential, "credential")

    def endorsement(self, ref: str | UUID) -> Endorsement:
        return self.store.load(self.uuid(ref, "endorsement"), Endorsement, "endorsement")

    def subject(self, ref: str) -> Subject:
        """An endorsement's subject: an issuer slug or DID, an achievement or a credential id."""
        ref = ref.strip()
        if not ref:
            raise DomainError("an endorsement needs a subject")
        if ref.startswith("did:"):
            issuer = self.issuer(ref)
            return Subject("issuer", issuer.id, issuer.did)
        found = self.store.find(issuer_id(ref))  # a slug
        if found is None:
            try:
                uuid = self.uuid(ref, "subject")
            except NotFound:
                raise NotFound(f"unknown endorsement subject {ref!r}: an issuer slug or DID, an "
                               "achievement or a credential id") from None
            found = self.store.find(uuid)
        if isinstance(found, Issuer):
            return Subject("issuer", found.id, found.did)
        if isinstance(found, Achievement):
            return Subject("achievement", found.id, self.config.achievement_url(found.id))
        if isinstance(found, Credential):
            return Subject("credential", found.id, f"urn:uuid:{found.id}")
        raise NotFound(f"unknown endorsement subject {ref!r}")

    # --- the registry's own -----------------------------------------------------------------------

    def extension_context(self, url: str) -> ExtensionContext:
        """A JSON-LD context the operator registered, by its URL."""
        found = self.store.find(extension_context_id(url))
        if not isinstance(found, ExtensionContext):
            raise NotFound(f"{url} is not a registered extension context (the operator adds one with "
                           "`registry context add URL FILE`)")
        return found

    def uuid(self, ref: str | UUID, what: str) -> UUID:
        """The id in a UUID, urn:uuid:UUID, or a URL the registry names things by."""
        found = self.config.id_in(ref)
        if found is None:
            raise NotFound(f"{ref!r} is not a {what} id (a UUID)")
        return found

"""Commands about organisations: register (operator), update the profile, deactivate, rotate a key,
report a compromised key (the organisation itself, or the operator)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache

from registry.commands.custody import KeyCustody
from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.commands.results import Written
from registry.domain import AlreadyExists, DidClaim, DomainError, Issuer
from registry.domain.identity import issuer_id
from registry.settings import Config
from registry.vc import did as dids
from registry.vc import jsonld, openbadges, schema
from registry.vc.errors import DocumentError
from registry.vc.multikey import decode_public_key, encode_public_key


class IssuerCommands:
    def __init__(self, records: Records, custody: KeyCustody, config: Config) -> None:
        self.records = records
        self.store = records.store
        self.custody = custody
        self.config = config

    def register(self, *, slug: str, name: str, actor: Actor, url: str | None = None,
                 email: str | None = None, description: str | None = None,
                 did: str | None = None, kind: str | None = None, image: str | None = None,
                 key: str | None = None, phone: str | None = None, address: dict | None = None,
                 other_identifier: list[dict] | None = None) -> Written:
        """A hosted issuer (no `did`): the registry makes its did:web and a key it holds.
        An external issuer brings a did:key, or its own did:web with the Multikey `key` its DID
        document lists, and signs for itself."""
        authorise(actor, None, "register organisations")
        # The profile is embedded in every document the organisation signs.
        openbadges.refuse_unsafe({"slug": slug, "name": name, "url": url, "email": email, "description": description,
                                  "did": did, "kind": kind, "image": image, "phone": phone, "address": address,
                                  "other_identifier": other_identifier}, "the organisation")
        _check_image_url(image)
        _check_profile_parts(name, url, email, description, phone, address, other_identifier)
        new_key = cache(self.custody.generate)  # a retried attempt reuses the key, not a new file

        def use_case() -> Written:
            Issuer.check_slug(slug)
            if self.store.exists(issuer_id(slug)):
                raise AlreadyExists(f"an issuer with slug {slug!r} is already registered")
            own_did, public_key = self._did(slug, did, key)
            if self.records.issuer_by_did(own_did) is not None:
                raise AlreadyExists(f"the DID {own_did} is already registered")
            issuer = Issuer.register(slug=slug, name=name, did=own_did, hosted=did is None,
                                     actor=actor.name, url=url, email=email, description=description,
                                     kind=kind, image=image, phone=phone, address=address,
                                     other_identifier=other_identifier)
            # Generated only after every rule has passed, so a refused registration leaves no key.
            issuer.add_key(public_key_multibase=public_key or new_key(), actor=actor.name)
            claim = DidClaim.claim(did=own_did, slug=slug)
            return Written(id=slug, position=self.store.commit(issuer, claim))

        return self.store.attempt(use_case)

    def update_profile(self, slug: str, *, actor: Actor, name: str | None = None,
                       url: str | None = None, email: str | None = None,
                       description: str | None = None, kind: str | None = None,
                       image: str | None = None, phone: str | None = None, address: dict | None = None,
                       other_identifier: list[dict] | None = None) -> Written:
        """Change what the organisation's Profile says; documents issued before keep what they said."""
        openbadges.refuse_unsafe({"name": name, "url": url, "email": email, "description": description,
                                  "kind": kind, "image": image, "phone": phone, "address": address,
                                  "other_identifier": other_identifier}, "the profile")
        _check_image_url(image)
        _check_profile_parts(name or "x", url, email, description, phone, address, other_identifier)
        return self._change(slug, actor, "update the profile", lambda issuer: issuer.update_profile(
            actor=actor.name, name=name, url=url, email=email, description=description, kind=kind,
            image=image, phone=phone, address=address, other_identifier=other_identifier))

    def deactivate(self, slug: str, *, reason: str, actor: Actor) -> Written:
        """The organisation stops issuing and endorsing; what it signed before keeps verifying."""
        if not reason.strip():
            raise DomainError("a deactivation needs a reason")
        return self._change(slug, actor, "deactivate the organisation",
                            lambda issuer: issuer.deactivate(reason=reason, actor=actor.name))

    def rotate_key(self, slug: str, *, actor: Actor) -> Written:
        """Retire the active key, activate a new one; credentials signed before stay valid."""
        new_key = cache(self.custody.generate)

        def rotate(issuer: Issuer) -> str:
            issuer.require_rotatable()  # before a key is generated for nothing
            return issuer.rotate_key(public_key_multibase=new_key(), actor=actor.name).verification_method

        return self._change(slug, actor, "rotate keys", rotate)

    def report_compromise(self, slug: str, *, verification_method: str, since: datetime,
                          actor: Actor) -> Written:
        """Distrust a key from `since` on. A hosted issuer gets a fresh active key at once when the
        compromised key was its active one, so it can keep issuing."""
        new_key = cache(self.custody.generate)

        def compromise(issuer: Issuer) -> str:
            vm = _full_verification_method(issuer, verification_method)
            was_active = issuer.active_key is not None and issuer.active_key.verification_method == vm
            issuer.report_compromise(verification_method=vm, since=since, actor=actor.name)
            if was_active and issuer.hosted and issuer.is_active:
                issuer.add_key(public_key_multibase=new_key(), actor=actor.name)
            return vm

        return self._change(slug, actor, "report a key compromise", compromise)

    # --- helpers -------------------------------------------------------------------------------

    def _change(self, slug: str, actor: Actor, action: str, change: Callable[[Issuer], str | None]) -> Written:
        def use_case() -> Written:
            issuer = self.records.issuer(slug)
            authorise(actor, issuer.slug, action)
            changed = change(issuer)
            return Written(id=changed or issuer.slug, position=self.store.commit(issuer))

        return self.store.attempt(use_case)

    def _external_did_web(self, did: str, public_key: str | None) -> tuple[str, str]:
        """An organisation's own did:web (its DID document lists the key as <did>#<Multikey>); the
        registry records the key it signs with, given by the operator who registers it."""
        try:
            dids.did_web_url(did)
        except DocumentError as exc:
            raise DomainError(f"invalid did:web: {exc}") from None
        own_host = dids.did_web(self.config.host, "x").removesuffix(":issuers:x")
        if did == own_host or did.startswith(own_host + ":"):
            raise DomainError(f"{did} is under this registry's own host: register without --did to have it hosted")
        if public_key is None:
            raise DomainError("an external did:web issuer needs its public key (the Multikey its DID document lists)")
        try:
            decode_public_key(public_key)
        except DocumentError as exc:
            raise DomainError(f"invalid public key: {exc}") from None
        return did, public_key

    def _did(self, slug: str, did: str | None, public_key: str | None = None) -> tuple[str, str | None]:
        """The organisation's DID and, for an external issuer, its public key."""
        if did is None:
            try:
                return dids.did_web(self.config.host, slug), None
            except DocumentError as exc:
                raise DomainError(str(exc)) from None
        own_did = did.strip()
        if own_did.startswith("did:web:"):
            return self._external_did_web(own_did, public_key)
        if public_key is not None:
            raise DomainError("a did:key names its own key: give no public key with it")
        if not own_did.startswith("did:key:"):
            raise DomainError(f"an external issuer registers with a did:key or its own did:web (got {own_did!r})")
        try:
            public_key = encode_public_key(dids.public_key_from_did_key(own_did))
            dids.resolve_did_key_document(own_did)  # didkit must resolve it too
        except DocumentError as exc:
            raise DomainError(f"invalid did:key: {exc}") from None
        return own_did, public_key


def _full_verification_method(issuer: Issuer, key: str) -> str:
    for candidate in issuer.keys:
        if key in (candidate.verification_method, candidate.public_key_multibase,
                   candidate.verification_method.split("#", 1)[1]):
            return candidate.verification_method
    raise DomainError(f"issuer {issuer.slug} has no key {key!r}")


def _check_image_url(image: str | None) -> None:
    """The profile's image is an address (OB Image id), embedded in every document the organisation
    signs: an http(s) URL, never inline data that would bloat each of them."""
    if image is not None and not image.startswith(("https://", "http://")):
        raise DocumentError(f"an organisation's image must be an http(s) URL, got {image[:80]!r}")


def _check_profile_parts(name: str, url, email, description, phone, address, other_identifier) -> None:
    """The Profile every document the organisation signs will embed must conform to OB 3.0's
    Profile, with only terms the pinned contexts define: checked once here, not at every signature."""
    if address is not None and not isinstance(address, dict):
        raise DocumentError("an address is an OB Address object (streetAddress, postalCode, addressLocality, ...)")
    if other_identifier is not None and not (isinstance(other_identifier, list)
                                             and all(isinstance(i, dict) for i in other_identifier)):
        raise DocumentError("otherIdentifier is a list of IdentifierEntry objects (identifier, identifierType)")
    document = openbadges.profile("did:example:profile", name, url=url, email=email, description=description,
                                  phone=phone, address=address, other_identifier=other_identifier)
    conformance = schema.check_part(document, "Profile")
    if not conformance.ok:
        raise DocumentError(f"the profile does not conform to OB 3.0: {'; '.join(conformance.errors)}")
    jsonld.assert_terms_defined({"@context": list(openbadges.CREDENTIAL_CONTEXTS), **document})

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
from registry.vc import openbadges
from registry.vc.errors import DocumentError
from registry.vc.multikey import encode_public_key


class IssuerCommands:
    def __init__(self, records: Records, custody: KeyCustody, config: Config) -> None:
        self.records = records
        self.store = records.store
        self.custody = custody
        self.config = config

    def register(self, *, slug: str, name: str, actor: Actor, url: str | None = None,
                 email: str | None = None, description: str | None = None,
                 did: str | None = None) -> Written:
        """A hosted issuer (no `did`): the registry makes its did:web and a key it holds.
        An external issuer brings a did:key and signs for itself."""
        authorise(actor, None, "register organisations")
        # The profile is embedded in every document the organisation signs.
        openbadges.refuse_unsafe({"slug": slug, "name": name, "url": url, "email": email, "description": description,
                                  "did": did}, "the organisation")
        new_key = cache(self.custody.generate)  # a retried attempt reuses the key, not a new file

        def use_case() -> Written:
            Issuer.check_slug(slug)
            if self.store.exists(issuer_id(slug)):
                raise AlreadyExists(f"an issuer with slug {slug!r} is already registered")
            own_did, public_key = self._did(slug, did)
            if self.records.issuer_by_did(own_did) is not None:
                raise AlreadyExists(f"the DID {own_did} is already registered")
            issuer = Issuer.register(slug=slug, name=name, did=own_did, hosted=did is None,
                                     actor=actor.name, url=url, email=email, description=description)
            # Generated only after every rule has passed, so a refused registration leaves no key.
            issuer.add_key(public_key_multibase=public_key or new_key(), actor=actor.name)
            claim = DidClaim.claim(did=own_did, slug=slug)
            return Written(id=slug, position=self.store.commit(issuer, claim))

        return self.store.attempt(use_case)

    def update_profile(self, slug: str, *, actor: Actor, name: str | None = None,
                       url: str | None = None, email: str | None = None,
                       description: str | None = None) -> Written:
        """Change what the organisation's Profile says; documents issued before keep what they said."""
        openbadges.refuse_unsafe({"name": name, "url": url, "email": email, "description": description},
                                 "the profile")
        return self._change(slug, actor, "update the profile", lambda issuer: issuer.update_profile(
            actor=actor.name, name=name, url=url, email=email, description=description))

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

    def _did(self, slug: str, did: str | None) -> tuple[str, str | None]:
        """The organisation's DID and, for an external issuer, its public key."""
        if did is None:
            try:
                return dids.did_web(self.config.host, slug), None
            except DocumentError as exc:
                raise DomainError(str(exc)) from None
        own_did = did.strip()
        if not own_did.startswith("did:key:"):
            raise DomainError(f"an external issuer registers with a did:key (got {own_did!r}); "
                              "did:web issuers are hosted by the registry")
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

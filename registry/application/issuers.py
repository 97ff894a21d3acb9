"""Use cases for organisations: register, rotate a key, report a compromised key."""

from __future__ import annotations

from datetime import datetime
from functools import cache

from registry.application.registry import RegistryCore
from registry.application.results import Written
from registry.domain import AlreadyExists, DidClaim, DomainError, Issuer
from registry.domain.identity import issuer_id
from registry.vc import did as dids
from registry.vc.errors import DocumentError
from registry.vc.multikey import encode_public_key


class IssuerUseCases(RegistryCore):
    def register_issuer(self, *, slug: str, name: str, actor: str, url: str | None = None,
                        email: str | None = None, description: str | None = None,
                        did: str | None = None) -> Written:
        """A hosted issuer (no `did`): the registry makes its did:web and a key it holds.
        An external issuer brings a did:key and signs for itself."""
        new_key = cache(self.keystore.generate)  # a retried attempt reuses the key, not a new file

        def use_case() -> Written:
            Issuer.check_slug(slug)
            if self.exists(issuer_id(slug)):
                raise AlreadyExists(f"an issuer with slug {slug!r} is already registered")
            if did is None:
                try:
                    own_did = dids.did_web(self.config.host, slug)
                except DocumentError as exc:
                    raise DomainError(str(exc)) from None
                public_key = None
            else:
                own_did = did.strip()
                if not own_did.startswith("did:key:"):
                    raise DomainError(
                        f"an external issuer registers with a did:key (got {own_did!r}); "
                        "did:web issuers are hosted by the registry"
                    )
                try:
                    public_key = encode_public_key(dids.public_key_from_did_key(own_did))
                    dids.resolve_did_key_document(own_did)  # didkit must resolve it too
                except DocumentError as exc:
                    raise DomainError(f"invalid did:key: {exc}") from None
            if self.issuer_by_did(own_did) is not None:
                raise AlreadyExists(f"the DID {own_did} is already registered")
            issuer = Issuer.register(slug=slug, name=name, did=own_did, hosted=did is None,
                                     actor=actor, url=url, email=email, description=description)
            # Generated only after every rule has passed, so a refused registration leaves no key.
            issuer.add_key(public_key_multibase=public_key or new_key(), actor=actor)
            claim = DidClaim.claim(did=own_did, slug=slug)
            return Written(id=slug, position=self.commit(issuer, claim))

        return self.attempt(use_case)

    def rotate_key(self, slug: str, *, actor: str) -> Written:
        """Retire the active key, activate a new one; credentials signed before stay valid."""
        new_key = cache(self.keystore.generate)

        def use_case() -> Written:
            issuer = self.issuer(slug)
            issuer.require_rotatable()  # before a key is generated for nothing
            key = issuer.rotate_key(public_key_multibase=new_key(), actor=actor)
            return Written(id=key.verification_method, position=self.commit(issuer))

        return self.attempt(use_case)

    def report_key_compromise(self, slug: str, *, verification_method: str, since: datetime,
                              actor: str) -> Written:
        """Distrust a key from `since` on. A hosted issuer gets a fresh active key at once when the
        compromised key was its active one, so it can keep issuing."""
        new_key = cache(self.keystore.generate)

        def use_case() -> Written:
            issuer = self.issuer(slug)
            vm = self._full_verification_method(issuer, verification_method)
            was_active = issuer.active_key is not None and issuer.active_key.verification_method == vm
            issuer.report_compromise(verification_method=vm, since=since, actor=actor)
            if was_active and issuer.hosted and issuer.is_active:
                issuer.add_key(public_key_multibase=new_key(), actor=actor)
            return Written(id=vm, position=self.commit(issuer))

        return self.attempt(use_case)

    def did_document(self, slug: str) -> dict:
        issuer = self.issuer(slug)
        if not issuer.hosted:
            return dids.resolve_did_key_document(issuer.did)
        keys = [
            dids.DidKey(
                fragment=key.verification_method.split("#", 1)[1],
                public_key_multibase=key.public_key_multibase,
                state=key.state,
                revoked=None if key.compromised_since is None else key.compromised_since.isoformat(),
            )
            for key in issuer.keys
        ]
        return dids.did_web_document(issuer.did, keys)

    def list_issuers(self) -> list[Issuer]:
        claims = self.events_of(DidClaim.Claimed)
        return sorted((self.issuer(c.slug) for c in claims), key=lambda i: i.slug)

    @staticmethod
    def _full_verification_method(issuer: Issuer, key: str) -> str:
        for candidate in issuer.keys:
            if key in (candidate.verification_method, candidate.public_key_multibase,
                       candidate.verification_method.split("#", 1)[1]):
                return candidate.verification_method
        raise DomainError(f"issuer {issuer.slug} has no key {key!r}")

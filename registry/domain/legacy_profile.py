"""LegacyProfile: an Open Badges 2.0 issuer Profile (a URL, such as a Badgr or Open Badge Factory
issuer page) that a registered organisation proved it controls. One per Profile URL, so no second
organisation can claim it. With it, the organisation's registry-held key re-issues the badges that
Profile issued as OB 3.0 credentials (registry.commands.imports), and imports of them are its own.

How control is proved (`method`):
- "profile-claim": the Profile, fetched from its own URL, carries the organisation's claim token
  (`badge-registry-claim=<the organisation's DID>`) in one of its text values, such as its
  description, which every hosting platform lets the issuer edit and no one else;
- "signed-claim": a JWS (RS256) over {"claim": <DID>, "profile": <URL>} verifies with a key the
  Profile lists in `publicKey` and that names the Profile as owner: for issuers who sign badges."""

from __future__ import annotations

import re
from uuid import UUID

from eventsourcing.domain import Aggregate

from registry.domain.errors import DomainError
from registry.domain.identity import legacy_profile_id

METHODS = ("profile-claim", "signed-claim")


def claim_token(did: str) -> str:
    """What an organisation puts in its OB 2.0 Profile to prove it controls it."""
    return f"badge-registry-claim={did}"


def carries_claim(text: str, did: str) -> bool:
    """Whether `text` carries the claim token of exactly this DID. The token of
    did:web:host:issuers:leer is the start of leerhuis's, so what follows it may not continue a DID
    (a full stop ending a sentence may)."""
    return re.search(re.escape(claim_token(did)) + r"(?![A-Za-z0-9._%:-]*[A-Za-z0-9_%:-])", text) is not None


class LegacyProfile(Aggregate):
    class Proved(Aggregate.Created):
        profile_url: str
        slug: str
        issuer_id: UUID
        method: str  # one of METHODS
        evidence: str  # the Profile as fetched (profile-claim) or the JWS (signed-claim)
        actor: str

    @classmethod
    def prove(cls, *, profile_url: str, slug: str, issuer_id: UUID, method: str, evidence: str,
              actor: str) -> LegacyProfile:
        if method not in METHODS:
            raise DomainError(f"unknown proof of control {method!r}: one of {', '.join(METHODS)}")
        if not profile_url.startswith(("https://", "http://")):
            raise DomainError(f"an OB 2.0 issuer Profile is an HTTP(S) URL, got {profile_url!r}")
        return cls._create(cls.Proved, id=legacy_profile_id(profile_url), profile_url=profile_url, slug=slug,
                           issuer_id=issuer_id, method=method, evidence=evidence, actor=actor)

    def __init__(self, profile_url: str, slug: str, issuer_id: UUID, method: str, evidence: str,
                 actor: str) -> None:
        self.profile_url = profile_url
        self.slug = slug
        self.issuer_id = issuer_id
        self.method = method

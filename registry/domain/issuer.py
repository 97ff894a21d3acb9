"""Issuer: an organisation's OB Profile. It issues badges and/or signs endorsements, owns a DID, and
keeps the full history of its signing keys so that old credentials stay verifiable."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import Aggregate

from registry.domain.errors import AlreadyExists, DomainError, InvalidTransition, NotFound
from registry.domain.identity import issuer_id

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")
# What kind of stakeholder an organisation is: the Breakthrough strategy counts endorsements by
# stakeholder. None: not stated (organisations registered before kinds existed).
ORGANISATION_KINDS = ("education", "employer", "government", "civil-society", "other")


@dataclass
class SigningKey:
    """One key the issuer has had. Retired keys stay listed: credentials signed while they were active
    keep verifying. A compromised key is distrusted from `compromised_since` on."""

    verification_method: str
    public_key_multibase: str
    added_at: datetime
    retired_at: datetime | None = None
    compromised_since: datetime | None = None
    compromise_reported_at: datetime | None = None

    @property
    def state(self) -> str:
        if self.compromised_since is not None:
            return "compromised"
        if self.retired_at is not None:
            return "retired"
        return "active"


def _profile_v2(state: dict) -> None:
    """Registered and ProfileUpdated before version 2 said nothing of kind and image."""
    state["kind"] = state["image"] = None


def _profile_v3(state: dict) -> None:
    """... nor, before version 3, of phone, address and other identifiers."""
    state["phone"] = state["address"] = state["other_identifier"] = None


PROFILE_FIELDS = ("name", "url", "email", "description", "kind", "image", "phone", "address", "other_identifier")


class Issuer(Aggregate):
    """Events carry what happened and who did it (`actor`); the event's own timestamp is when the
    registry logged it, which is the time that counts for key history."""

    class Registered(Aggregate.Created):
        slug: str
        name: str
        did: str
        hosted: bool
        actor: str
        url: str | None
        email: str | None
        description: str | None
        # Version 2: the stakeholder kind and the URL of the organisation's image.
        kind: str | None
        image: str | None
        # Version 3: what national profiles carry (OB Profile phone, address, otherIdentifier).
        phone: str | None
        address: dict[str, Any] | None
        other_identifier: list[dict[str, Any]] | None

        class_version = 3
        upcast_v1_v2 = staticmethod(_profile_v2)
        upcast_v2_v3 = staticmethod(_profile_v3)

    class ProfileUpdated(Aggregate.Event):
        actor: str
        name: str | None
        url: str | None
        email: str | None
        description: str | None
        kind: str | None
        image: str | None
        phone: str | None
        address: dict[str, Any] | None
        other_identifier: list[dict[str, Any]] | None

        class_version = 3
        upcast_v1_v2 = staticmethod(_profile_v2)
        upcast_v2_v3 = staticmethod(_profile_v3)

        def apply(self, issuer: Issuer) -> None:
            for field in PROFILE_FIELDS:
                if getattr(self, field) is not None:
                    setattr(issuer, field, getattr(self, field))

    class KeyAdded(Aggregate.Event):
        verification_method: str
        public_key_multibase: str
        actor: str

        def apply(self, issuer: Issuer) -> None:
            issuer.keys.append(
                SigningKey(self.verification_method, self.public_key_multibase, self.timestamp)
            )

    class KeyRotated(Aggregate.Event):
        retired_verification_method: str
        verification_method: str
        public_key_multibase: str
        actor: str

        def apply(self, issuer: Issuer) -> None:
            issuer.key(self.retired_verification_method).retired_at = self.timestamp
            issuer.keys.append(
                SigningKey(self.verification_method, self.public_key_multibase, self.timestamp)
            )

    class KeyCompromised(Aggregate.Event):
        verification_method: str
        since: datetime
        actor: str

        def apply(self, issuer: Issuer) -> None:
            key = issuer.key(self.verification_method)
            key.compromised_since = self.since
            key.compromise_reported_at = self.timestamp
            if key.retired_at is None:
                key.retired_at = self.timestamp

    class Deactivated(Aggregate.Event):
        reason: str
        actor: str

        def apply(self, issuer: Issuer) -> None:
            issuer.deactivated_at = self.timestamp
            issuer.deactivation_reason = self.reason
            for key in issuer.keys:
                if key.retired_at is None:
                    key.retired_at = self.timestamp

    @classmethod
    def register(
        cls,
        *,
        slug: str,
        name: str,
        did: str,
        hosted: bool,
        actor: str,
        url: str | None = None,
        email: str | None = None,
        description: str | None = None,
        kind: str | None = None,
        image: str | None = None,
        phone: str | None = None,
        address: dict | None = None,
        other_identifier: list[dict] | None = None,
    ) -> Issuer:
        cls.check_slug(slug)
        if not name.strip():
            raise DomainError("an issuer needs a non-empty name")
        if not did.startswith("did:"):
            raise DomainError(f"invalid DID {did!r}")
        cls.check_kind(kind)
        return cls._create(
            cls.Registered, id=issuer_id(slug), slug=slug, name=name.strip(), did=did,
            hosted=hosted, actor=actor, url=url, email=email, description=description,
            kind=kind, image=image, phone=phone, address=address, other_identifier=other_identifier,
        )

    @staticmethod
    def check_kind(kind: str | None) -> None:
        if kind is not None and kind not in ORGANISATION_KINDS:
            raise DomainError(f"unknown organisation kind {kind!r}: use one of {', '.join(ORGANISATION_KINDS)}")

    @staticmethod
    def check_slug(slug: str) -> None:
        if not isinstance(slug, str) or not SLUG.fullmatch(slug):
            raise DomainError(
                f"invalid slug {slug!r}: use 1-64 lowercase letters, digits and inner hyphens"
            )

    def __init__(self, slug: str, name: str, did: str, hosted: bool, actor: str,
                 url: str | None, email: str | None, description: str | None,
                 kind: str | None = None, image: str | None = None, phone: str | None = None,
                 address: dict | None = None, other_identifier: list[dict] | None = None) -> None:
        self.slug = slug
        self.name = name
        self.did = did
        self.hosted = hosted
        self.url = url
        self.email = email
        self.description = description
        self.kind = kind
        self.image = image
        self.phone = phone
        self.address = address
        self.other_identifier = other_identifier
        self.registered_by = actor
        self.keys: list[SigningKey] = []
        self.deactivated_at: datetime | None = None
        self.deactivation_reason: str | None = None

    # --- profile -------------------------------------------------------------------------------

    def update_profile(self, *, actor: str, name: str | None = None, url: str | None = None,
                       email: str | None = None, description: str | None = None,
                       kind: str | None = None, image: str | None = None, phone: str | None = None,
                       address: dict | None = None, other_identifier: list[dict] | None = None) -> None:
        self._require_active()
        if name is not None and not name.strip():
            raise DomainError("an issuer needs a non-empty name")
        self.check_kind(kind)
        self.trigger_event(self.ProfileUpdated, actor=actor, name=name, url=url, email=email,
                           description=description, kind=kind, image=image, phone=phone, address=address,
                           other_identifier=other_identifier)

    def deactivate(self, *, reason: str, actor: str) -> None:
        self._require_active()
        self.trigger_event(self.Deactivated, reason=reason, actor=actor)

    # --- keys ----------------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self.deactivated_at is None

    @property
    def active_key(self) -> SigningKey | None:
        for key in self.keys:
            if key.state == "active":
                return key
        return None

    def key(self, verification_method: str) -> SigningKey:
        for key in self.keys:
            if key.verification_method == verification_method:
                return key
        raise NotFound(f"issuer {self.slug} has no key {verification_method}")

    def add_key(self, *, public_key_multibase: str, actor: str) -> SigningKey:
        """The first key, or a new key after the active one was reported compromised."""
        self._require_active()
        if self.active_key is not None:
            raise InvalidTransition(
                f"issuer {self.slug} already has an active key; rotate it instead"
            )
        self._check_new_key(public_key_multibase)
        self.trigger_event(
            self.KeyAdded, verification_method=self._vm(public_key_multibase),
            public_key_multibase=public_key_multibase, actor=actor,
        )
        return self.keys[-1]

    def rotate_key(self, *, public_key_multibase: str, actor: str) -> SigningKey:
        """Retire the active key and make a new one active; the retired key stays listed."""
        self.require_rotatable()
        old = self.active_key
        if old is None:
            return self.add_key(public_key_multibase=public_key_multibase, actor=actor)
        self._check_new_key(public_key_multibase)
        self.trigger_event(
            self.KeyRotated, retired_verification_method=old.verification_method,
            verification_method=self._vm(public_key_multibase),
            public_key_multibase=public_key_multibase, actor=actor,
        )
        return self.keys[-1]

    def require_rotatable(self) -> None:
        self._require_active()
        if not self.hosted:
            raise InvalidTransition(
                f"issuer {self.slug} brings its own DID ({self.did}); its keys are not rotated here"
            )

    def report_compromise(self, *, verification_method: str, since: datetime, actor: str) -> None:
        """From `since` on, nothing signed with this key is trusted. Credentials the registry logged
        before `since` keep verifying."""
        if since.tzinfo is None:
            raise DomainError("the compromise time needs a timezone (e.g. 2026-05-01T12:00:00Z)")
        key = self.key(verification_method)
        if key.compromised_since is not None and key.compromised_since <= since:
            raise InvalidTransition(
                f"key {verification_method} is already compromised since "
                f"{key.compromised_since.isoformat()}"
            )
        self.trigger_event(self.KeyCompromised, verification_method=verification_method,
                           since=since, actor=actor)

    # --- rules ---------------------------------------------------------------------------------

    def require_signing_key(self) -> SigningKey:
        self._require_active()
        key = self.active_key
        if key is None:
            raise InvalidTransition(f"issuer {self.slug} has no active signing key")
        return key

    def _require_active(self) -> None:
        if self.deactivated_at is not None:
            raise InvalidTransition(f"issuer {self.slug} is deactivated")

    def _check_new_key(self, public_key_multibase: str) -> None:
        if any(k.public_key_multibase == public_key_multibase for k in self.keys):
            raise AlreadyExists(f"issuer {self.slug} has had key {public_key_multibase} already")

    def _vm(self, public_key_multibase: str) -> str:
        # The fragment is the Multikey itself, as did:key and 1EdTech's examples do, so a verifier
        # can tell which key signed without resolving anything.
        return f"{self.did}#{public_key_multibase}"

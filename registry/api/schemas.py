"""The wire schema: msgspec Structs for every request and answer (OpenAPI is generated from them).
Unknown fields in a request are refused, so a misspelt field is named instead of ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from registry.vc.report import VerificationReport  # noqa: F401  (the answer of POST /verify)


# The stakeholder kinds (registry.domain.issuer.ORGANISATION_KINDS), listed in the OpenAPI schema.
OrganisationKind = Literal["education", "employer", "government", "civil-society", "other"]

# Times must carry an offset: a naive time would be read differently by different servers.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class Request(msgspec.Struct, forbid_unknown_fields=True):
    pass


# --- requests ------------------------------------------------------------------------------------


class LegacyProfileProof(Request):
    """That an organisation controls an OB 2.0 issuer Profile (registry.domain.legacy_profile)."""

    url: str  # the Profile's URL (its id)
    signed_claim: str | None = None  # a JWS (RS256) over {"claim": DID, "profile": url}; else the Profile carries the token


class IssuerRegistration(Request):
    slug: str
    name: str
    url: str | None = None
    email: str | None = None
    description: str | None = None
    did: str | None = None  # an external issuer's did:key or own did:web; omitted: the registry hosts a did:web
    public_key: str | None = None  # with an own did:web: the Multikey its DID document lists
    kind: OrganisationKind | None = None
    image: str | None = None  # the URL of the organisation's image (POST /images stores one)
    phone: str | None = None
    address: dict[str, Any] | None = None  # an OB Address: streetAddress, postalCode, addressLocality, addressCountry...
    other_identifier: list[dict[str, Any]] | None = None  # OB IdentifierEntry: identifier, identifierType


class ProfileUpdate(Request):
    """Fields left out (or null) keep their value."""

    name: str | None = None
    url: str | None = None
    email: str | None = None
    description: str | None = None
    kind: OrganisationKind | None = None
    image: str | None = None
    phone: str | None = None
    address: dict[str, Any] | None = None
    other_identifier: list[dict[str, Any]] | None = None


class KeyCompromise(Request):
    key: str  # the verification method id, its fragment or its Multikey
    since: AwareDatetime  # with an offset: from when on nothing signed with the key is trusted


class RequiredAchievement(Request):
    achievement: str  # its id or URL
    level: str | None = None  # the lowest level of its ladder that counts (a name or id)


class AchievementDefinition(Request):
    """The same shape `registry achievement define --file FILE` reads. `definition` is an OB 3.0
    Achievement without id/creator (name, description, criteria.narrative; optionally image,
    alignment, tag, resultDescription with rubricCriterionLevel `points` as the lowest score of each
    level, ...)."""

    definition: dict[str, Any]
    issuer: str | None = None  # the owner's slug; an issuer's key may leave it out
    # Achievements a recipient must hold first: "ID", "ID@Level" or {"achievement", "level"}.
    requires: list[str | RequiredAchievement] = []
    automatic: bool = False  # awarded by the registry as soon as every requirement is held


class AchievementRevision(Request):
    """The same shape `registry achievement revise ID --file FILE` reads."""

    definition: dict[str, Any]
    requires: list[str | RequiredAchievement] | None = None  # None: keep the current prerequisites
    automatic: bool | None = None  # None: keep


class ContextRegistration(Request):
    """The same as `registry context add URL FILE [--sha256 HEX]` (the operator's)."""

    url: str  # the https URL documents name the context by
    document: str  # the context document's text exactly as published there: its UTF-8 bytes are pinned
    sha256: str | None = None  # refused unless the document has this SHA-256


class Reason(Request):
    reason: str


class OptionalReason(Request):
    reason: str | None = None


class AwardRequest(Request):
    """The same fields as `registry issue`'s options and a batch file's columns."""

    recipient: str  # an e-mail address (stored hashed), a DID or an http(s) URL
    achievement: str
    result: str | None = None  # a value kept as given
    valid_until: AwareDatetime | None = None
    evidence: str | list[dict[str, Any]] | None = None  # a URL, or OB Evidence objects (narrative, name, genre...)
    score: str | None = None  # on an achievement with levels: the level it reaches goes in the result
    valid_from: AwareDatetime | None = None  # default now; from 1900 to a year ahead
    results: list[dict[str, Any]] = []  # more OB Result objects, as given
    credential_schema: list[dict[str, Any]] = []  # credentialSchema entries beside the 1EdTech one


class BatchRequest(Request):
    awards: list[AwardRequest]


class ReissueRequest(Request):
    credentials: list[str]  # ids of the credentials to sign afresh with the active key (old ones are revoked)


class EndorseRequest(Request):
    subject: str  # an issuer slug or DID, an achievement or a credential id
    comment: str
    by: str | None = None  # the endorser's slug; an issuer's key may leave it out


# --- answers ---------------------------------------------------------------------------------------


class WrittenOut(msgspec.Struct):
    id: str
    position: int  # the notification position of the write: read models that reached it show it
    document: dict[str, Any] | None = None
    also_awarded: list[str] = []  # credentials of automatic pathways this award completed


class BatchOut(msgspec.Struct):
    ids: list[str]
    position: int
    documents: list[dict[str, Any]]
    also_awarded: list[str] = []


class KeyOut(msgspec.Struct):
    verification_method: str
    state: str
    added_at: datetime
    retired_at: datetime | None
    compromised_since: datetime | None


class IssuerOut(msgspec.Struct):
    slug: str
    name: str
    did: str
    hosted: bool
    url: str | None
    email: str | None
    description: str | None
    kind: str | None
    image: str | None
    phone: str | None
    address: dict[str, Any] | None
    other_identifier: list[dict[str, Any]] | None
    registered_at: datetime
    deactivated_at: datetime | None
    keys: list[KeyOut]


class IssuerPage(msgspec.Struct):
    items: list[IssuerOut]
    next_cursor: str | None


class AchievementOut(msgspec.Struct):
    id: str
    url: str
    issuer: str
    name: str
    version: int
    retired: bool
    requires: list[str]
    minimum_levels: dict[str, str] = {}  # required achievement id -> the lowest level of it that counts
    automatic: bool = False  # awarded by the registry when every requirement is held


class AchievementPage(msgspec.Struct):
    items: list[AchievementOut]
    next_cursor: str | None


class EndorsementOut(msgspec.Struct):
    id: str
    endorser: str  # slug
    endorser_did: str
    subject_kind: str  # issuer, achievement or credential
    subject_id: str
    subject_iri: str
    comment: str
    custodial: bool
    endorsed_at: datetime
    withdrawn_at: datetime | None
    withdrawn_reason: str | None
    standing: bool  # at the moment asked about (now when none was)
    endorser_name: str
    subject_name: str | None  # the organisation's or achievement's name; a credential's achievement's


class EndorsementPage(msgspec.Struct):
    items: list[EndorsementOut]
    next_cursor: str | None


class CredentialStatusOut(msgspec.Struct):
    id: str
    at: datetime | None  # the moment asked about; null: now
    status: str  # active, suspended, revoked or expired at that moment
    valid: bool  # active and inside its validity period at that moment
    expired: bool  # its validUntil had passed (a revoked credential stays "revoked")
    reason: str | None  # given with the last status change up to that moment
    since: datetime  # when that status began (validUntil for an expired credential)
    issuer_id: str
    achievement_id: str
    achievement_version: int
    issued_at: datetime
    valid_from: datetime
    valid_until: datetime | None
    status_list: str | None  # the BitstringStatusListCredential that publishes a revocation
    status_list_index: int | None


class ContextOut(msgspec.Struct):
    url: str
    sha256: str
    href: str  # where this registry serves the pinned bytes
    registered_at: datetime


class AffectedOut(msgspec.Struct):
    credential_id: str
    verification_method: str
    issued_at: datetime
    compromised_since: datetime
    status: str  # as recorded: active, suspended or revoked (re-issued ones are revoked)


class EventOut(msgspec.Struct):
    position: int
    originator_id: str
    originator_version: int
    topic: str
    state: dict[str, Any]


class EventPage(msgspec.Struct):
    events: list[EventOut]
    last_position: int  # the log's end when read: after=last_position asks only for newer events


class ImportOut(msgspec.Struct):
    id: str  # the registry's id for the import
    credential_id: str  # the credential's own id
    format: str  # ob3-json-ld, ob3-vc-jwt, ob2-hosted or ob2-signed
    baked: str | None  # png or svg when it came baked into an image
    source: str
    issuer: str
    name: str
    verdict: str  # VALID, or (recorded as not verified) INVALID or INDETERMINATE, at import
    unverified: bool
    checks: list[dict[str, Any]]  # what was checked at import and what could not be
    imported_at: datetime
    original: str | None = None  # the credential exactly as it came (in the answer about one import)
    reissued_as: str | None = None  # an OB 2.0 badge re-issued as this registry's OB 3.0 credential


class ImportPage(msgspec.Struct):
    items: list[ImportOut]
    next_cursor: str | None

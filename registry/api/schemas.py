"""The wire schema: msgspec Structs for every request and answer (OpenAPI is generated from them).
Unknown fields in a request are refused, so a misspelt field is named instead of ignored."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from registry.vc.report import VerificationReport  # noqa: F401  (the answer of POST /verify)


# Times must carry an offset: a naive time would be read differently by different servers.
AwareDatetime = Annotated[datetime, msgspec.Meta(tz=True)]


class Request(msgspec.Struct, forbid_unknown_fields=True):
    pass


# --- requests ------------------------------------------------------------------------------------


class IssuerRegistration(Request):
    slug: str
    name: str
    url: str | None = None
    email: str | None = None
    description: str | None = None
    did: str | None = None  # an external issuer's did:key; omitted: the registry hosts a did:web


class ProfileUpdate(Request):
    """Fields left out (or null) keep their value."""

    name: str | None = None
    url: str | None = None
    email: str | None = None
    description: str | None = None


class KeyCompromise(Request):
    key: str  # the verification method id, its fragment or its Multikey
    since: AwareDatetime  # with an offset: from when on nothing signed with the key is trusted


class AchievementDefinition(Request):
    definition: dict[str, Any]  # an OB Achievement without id/creator: name, description, criteria
    issuer: str | None = None  # the owner's slug; an issuer's key may leave it out
    requires: list[str] = []


class AchievementRevision(Request):
    definition: dict[str, Any]
    requires: list[str] | None = None  # None: keep the current prerequisites


class Reason(Request):
    reason: str


class OptionalReason(Request):
    reason: str | None = None


class AwardRequest(Request):
    recipient: str  # an e-mail address (stored hashed) or a DID
    achievement: str
    result: str | None = None
    valid_until: AwareDatetime | None = None
    evidence: str | None = None


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


class BatchOut(msgspec.Struct):
    ids: list[str]
    position: int
    documents: list[dict[str, Any]]


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

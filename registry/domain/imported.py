"""ImportedCredential: a credential another platform issued, brought into the registry with its
provenance: the original document byte for byte, where it came from, and what was verified at import
and what could not be. One per credential id, so importing the same credential again finds it."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from registry.domain.errors import DomainError
from registry.domain.identity import imported_credential_id

FORMATS = ("ob3-json-ld", "ob3-vc-jwt")
VERDICTS = ("VALID", "INVALID", "INDETERMINATE")


class ImportedCredential(Aggregate):
    class Imported(Aggregate.Created):
        credential_id: str  # the document's own id
        format: str  # one of FORMATS
        baked: str | None  # "png" or "svg" when it came baked into an image
        source: str  # the URL it was fetched from, or the file name it was read from
        original: str  # the document exactly as it came (a VC-JWT: the compact JWS)
        issuer: str  # the issuer's id (a DID or URL), as the document says
        issuer_id: UUID | None  # the registered organisation with that DID, if any
        name: str  # what the credential awards, for people
        verdict: str  # the verification verdict at import
        checks: str  # JSON: [{"name", "outcome", "reason"}], what was checked and what could not be
        unverified: bool  # recorded although the verdict was not VALID, because it was asked
        actor: str

    @classmethod
    def record(cls, *, credential_id: str, format: str, baked: str | None, source: str, original: str,
               issuer: str, issuer_id: UUID | None, name: str, verdict: str, checks: str,
               unverified: bool, actor: str) -> ImportedCredential:
        """Rules: a known format and verdict; only a VALID credential is imported as such, anything
        else only when `unverified` records it explicitly as not verified."""
        if format not in FORMATS:
            raise DomainError(f"cannot import a {format!r} credential: one of {', '.join(FORMATS)}")
        if verdict not in VERDICTS:
            raise DomainError(f"unknown verdict {verdict!r}")
        if verdict != "VALID" and not unverified:
            raise DomainError(f"the credential is {verdict}; import it with --unverified to record it as not verified")
        if not credential_id.strip():
            raise DomainError("an imported credential needs its id")
        return cls._create(cls.Imported, id=imported_credential_id(credential_id), credential_id=credential_id,
                           format=format, baked=baked, source=source, original=original, issuer=issuer,
                           issuer_id=issuer_id, name=name, verdict=verdict, checks=checks,
                           unverified=verdict != "VALID", actor=actor)

    def __init__(self, credential_id: str, format: str, baked: str | None, source: str, original: str,
                 issuer: str, issuer_id: UUID | None, name: str, verdict: str, checks: str,
                 unverified: bool, actor: str) -> None:
        self.credential_id = credential_id
        self.format = format
        self.original = original
        self.issuer = issuer
        self.issuer_id = issuer_id
        self.verdict = verdict
        self.unverified = unverified

"""ImportedCredential: a credential another platform issued, brought into the registry with its
provenance: the original document byte for byte, where it came from, and what was verified at import
and what could not be. One per credential id, so importing the same credential again finds it."""

from __future__ import annotations

from uuid import UUID

from eventsourcing.domain import Aggregate

from registry.domain.errors import DomainError
from registry.domain.identity import imported_credential_id

FORMATS = ("ob3-json-ld", "ob3-vc-jwt", "ob2-hosted", "ob2-signed")
VERDICTS = ("VALID", "INVALID", "INDETERMINATE")


def _documents_v2(state: dict) -> None:
    """Imported before version 2 kept no documents beside the credential (OB 3.0 needs none)."""
    state["documents"] = "{}"


class ImportedCredential(Aggregate):
    class Imported(Aggregate.Created):
        class_version = 2
        upcast_v1_v2 = staticmethod(_documents_v2)

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
        # JSON {url: document}: what verification rested on besides the original (an OB 2.0 hosted
        # assertion as served, its BadgeClass, issuer Profile, key, revocation list, endorsements)
        documents: str

    @classmethod
    def record(cls, *, credential_id: str, format: str, baked: str | None, source: str, original: str,
               issuer: str, issuer_id: UUID | None, name: str, verdict: str, checks: str,
               unverified: bool, actor: str, documents: str = "{}") -> ImportedCredential:
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
                           unverified=verdict != "VALID", actor=actor, documents=documents)

    class Reissued(Aggregate.Event):
        """Re-issued as an OB 3.0 credential of this registry, signed by the organisation that
        proved control of the original issuer (registry.domain.legacy_profile)."""
        credential: UUID  # the registry's new credential
        achievement: UUID  # the Achievement its BadgeClass became
        actor: str

        def apply(self, imported: ImportedCredential) -> None:
            imported.reissued_as = self.credential

    def reissue(self, *, credential: UUID, achievement: UUID, actor: str) -> None:
        """Rules: once; only what verified, and only an OB 2.0 badge (OB 3.0 needs no re-issuing)."""
        if self.reissued_as is not None:
            raise DomainError(f"{self.credential_id} was re-issued already, as {self.reissued_as}")
        if self.unverified or self.verdict != "VALID":
            raise DomainError(f"{self.credential_id} did not verify at import ({self.verdict}): it is not re-issued")
        if not self.format.startswith("ob2-"):
            raise DomainError(f"{self.credential_id} is an OB 3.0 credential already: nothing to re-issue")
        self.trigger_event(self.Reissued, credential=credential, achievement=achievement, actor=actor)

    def __init__(self, credential_id: str, format: str, baked: str | None, source: str, original: str,
                 issuer: str, issuer_id: UUID | None, name: str, verdict: str, checks: str,
                 unverified: bool, actor: str, documents: str) -> None:
        self.credential_id = credential_id
        self.format = format
        self.original = original
        self.issuer = issuer
        self.issuer_id = issuer_id
        self.verdict = verdict
        self.unverified = unverified
        self.documents = documents
        self.reissued_as: UUID | None = None

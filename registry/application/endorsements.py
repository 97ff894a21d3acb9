"""Use cases for endorsements: the registry signs for a custodial partner, or a partner submits an
endorsement it signed itself (accepted only if the proof verifies against its registered key)."""

from __future__ import annotations

import json
from uuid import UUID

from registry.application.registry import (
    MAX_DOCUMENT_BYTES,
    RegistryCore,
    document_text,
    xsd_datetime,
)
from registry.application.results import Written
from registry.domain import Achievement, Credential, DomainError, Endorsement, NotAuthorised
from registry.domain.identity import endorsement_id, issuer_id
from registry.vc import openbadges, proofs, schema
from registry.vc.multikey import decode_public_key
from registry.vc.errors import DocumentError, ProofError


class EndorsementUseCases(RegistryCore):
    def endorse(self, *, by: str, subject: str, comment: str, actor: str,
                as_issuer: str | None = None) -> Written:
        """Custodial: the registry signs with the endorser's key, which it holds."""
        if as_issuer is not None and as_issuer != by:
            raise NotAuthorised(f"{as_issuer} may not endorse as {by}")

        def use_case() -> Written:
            endorser = self.issuer(by)
            key = endorser.require_signing_key()
            if not self.keystore.holds(key.public_key_multibase):
                raise NotAuthorised(
                    f"{by} signs its own endorsements: submit a signed EndorsementCredential instead"
                )
            kind, subject_uuid, subject_iri = self._subject(subject)
            new_id = Endorsement.new_id()
            now = self.clock()
            document = openbadges.endorsement_credential(
                f"urn:uuid:{new_id}", self.issuer_profile(endorser), subject_iri, comment,
                valid_from=xsd_datetime(now),
            )
            signer = self.keystore.signer(key.public_key_multibase, key.verification_method)
            signed = proofs.sign(document, signer, created=xsd_datetime(now))
            endorsement = Endorsement.give(
                id=new_id, endorser=endorser, subject_kind=kind, subject_id=subject_uuid,
                subject_iri=subject_iri, comment=comment, document=document_text(signed),
                verification_method=key.verification_method, custodial=True, actor=actor,
            )
            return Written(id=str(new_id), position=self.commit(endorsement), document=signed)

        return self.attempt(use_case)

    def submit_endorsement(self, text: str, *, actor: str, as_issuer: str | None = None) -> Written:
        """Accept an EndorsementCredential the endorser signed itself. The exact text is stored."""
        if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
            raise DocumentError(f"the endorsement is larger than {MAX_DOCUMENT_BYTES} bytes")
        document = _parse_object(text)
        types = document.get("type")
        if "EndorsementCredential" not in (types if isinstance(types, list) else [types]):
            raise DocumentError("not an EndorsementCredential (type must include EndorsementCredential)")
        conformance = schema.check(document)
        if not conformance.ok:
            raise DocumentError(f"the endorsement does not conform to its schema: {'; '.join(conformance.errors)}")
        issuer_ref = document.get("issuer")
        endorser_did = issuer_ref.get("id") if isinstance(issuer_ref, dict) else issuer_ref
        if not isinstance(endorser_did, str):
            raise DocumentError("the endorsement has no issuer id")
        doc_id = document.get("id")
        if not isinstance(doc_id, str) or not doc_id:
            raise DocumentError("the endorsement needs an id")
        subject_ref = document.get("credentialSubject", {})
        subject_iri = subject_ref.get("id") if isinstance(subject_ref, dict) else None
        comment = subject_ref.get("endorsementComment") if isinstance(subject_ref, dict) else None

        def use_case() -> Written:
            endorser = self.issuer_by_did(endorser_did)
            if endorser is None:
                raise DomainError(f"the endorser {endorser_did} is not a registered issuer")
            if as_issuer is not None and as_issuer != endorser.slug:
                raise NotAuthorised(f"{as_issuer} may not submit endorsements signed by {endorser.slug}")
            key = endorser.require_signing_key()
            active = {key.verification_method: key.public_key_multibase}
            check = proofs.verify(document, lambda vm: decode_public_key(active[vm]) if vm in active else None)
            if not check.ok:
                raise ProofError(f"the endorsement's proof does not verify against {endorser.slug}'s active key: {check.reason}")
            kind, subject_uuid, iri = self._subject(subject_iri or "")
            new_id = endorsement_id(doc_id)
            if self.exists(new_id):
                raise DomainError(f"endorsement {doc_id} was already submitted")
            endorsement = Endorsement.give(
                id=new_id, endorser=endorser, subject_kind=kind, subject_id=subject_uuid,
                subject_iri=iri, comment=comment or "", document=text,
                verification_method=check.verification_method, custodial=False, actor=actor,
            )
            return Written(id=str(new_id), position=self.commit(endorsement), document=document)

        return self.attempt(use_case)

    def withdraw_endorsement(self, endorsement_ref: str, *, reason: str, actor: str,
                             as_issuer: str | None = None) -> Written:
        def use_case() -> Written:
            endorsement = self.endorsement(endorsement_ref)
            endorser = self.issuer_by_uuid(endorsement.endorser_id)
            if as_issuer is not None and as_issuer != endorser.slug:
                raise NotAuthorised(f"{as_issuer} may not withdraw {endorser.slug}'s endorsement")
            endorsement.withdraw(reason=reason, actor=actor)
            return Written(id=str(endorsement.id), position=self.commit(endorsement))

        return self.attempt(use_case)

    def endorsement(self, ref: str | UUID) -> Endorsement:
        uuid = ref if isinstance(ref, UUID) else self.parse_uuid(ref, "endorsement")
        return self.load(uuid, Endorsement, "endorsement")

    def _subject(self, subject: str) -> tuple[str, UUID, str]:
        """(kind, aggregate id, IRI) for an issuer slug or DID, an achievement or a credential."""
        ref = subject.strip()
        if not ref:
            raise DomainError("an endorsement needs a subject")
        issuer = self.issuer_by_did(ref) if ref.startswith("did:") else None
        if issuer is None and self.exists(issuer_id(ref)):
            issuer = self.issuer(ref)
        if issuer is not None:
            return "issuer", issuer.id, issuer.did
        try:
            uuid = self.parse_uuid(ref, "subject")
        except DomainError:
            raise DomainError(f"unknown endorsement subject {subject!r}: an issuer slug or DID, an achievement or a credential id") from None
        aggregate = self.find(uuid)
        if isinstance(aggregate, Achievement):
            return "achievement", uuid, self.config.achievement_url(uuid)
        if isinstance(aggregate, Credential):
            return "credential", uuid, f"urn:uuid:{uuid}"
        raise DomainError(f"unknown endorsement subject {subject!r}")


def _parse_object(text: str) -> dict:
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DocumentError(f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    if not isinstance(document, dict):
        raise DocumentError(f"expected a JSON object, got {type(document).__name__}")
    return document

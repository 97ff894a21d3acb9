"""Commands about endorsements: the registry signs for a custodial partner, or a partner submits an
endorsement it signed itself (accepted only if the proof verifies against its registered key)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from registry.commands.custody import KeyCustody
from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.commands.results import Written
from registry.domain import DomainError, Endorsement, NotAuthorised
from registry.domain.identity import endorsement_id
from registry.settings import Config
from registry.vc import json_text, openbadges, proofs, schema
from registry.vc.errors import DocumentError, ProofError
from registry.vc.multikey import decode_public_key
from registry.vc.openbadges import document_text, xsd_datetime

# No credential or endorsement comes near this; a larger body is refused before it is parsed.
MAX_DOCUMENT_BYTES = 256 * 1024


class EndorsementCommands:
    def __init__(self, records: Records, custody: KeyCustody, config: Config,
                 clock: Callable[[], datetime]) -> None:
        self.records = records
        self.store = records.store
        self.custody = custody
        self.config = config
        self.clock = clock

    def endorse(self, *, by: str, subject: str, comment: str, actor: Actor) -> Written:
        """Custodial: the registry signs with the endorser's key, which it holds."""

        def use_case() -> Written:
            endorser = self.records.issuer(by)
            authorise(actor, endorser.slug, "endorse")
            key = endorser.require_signing_key()
            if not self.custody.holds(key.public_key_multibase):
                raise NotAuthorised(
                    f"{endorser.slug} signs its own endorsements: submit a signed EndorsementCredential instead"
                )
            about = self.records.subject(subject)
            new_id = Endorsement.new_id()
            now = self.clock()
            document = openbadges.endorsement_credential(
                f"urn:uuid:{new_id}", self.records.profile(endorser), about.iri, comment,
                valid_from=xsd_datetime(now),
            )
            openbadges.refuse_unsafe(document, "the endorsement")
            signer = self.custody.signer(key.public_key_multibase, key.verification_method)
            signed = proofs.sign(document, signer, created=xsd_datetime(now))
            endorsement = Endorsement.give(
                id=new_id, endorser=endorser, subject_kind=about.kind, subject_id=about.id,
                subject_iri=about.iri, comment=comment, document=document_text(signed),
                verification_method=key.verification_method, custodial=True, actor=actor.name,
            )
            return Written(id=str(new_id), position=self.store.commit(endorsement), document=signed)

        return self.store.attempt(use_case)

    def submit(self, text: str, *, actor: Actor) -> Written:
        """Accept an EndorsementCredential the endorser signed itself. The exact text is stored."""
        if len(text.encode("utf-8")) > MAX_DOCUMENT_BYTES:
            raise DocumentError(f"the endorsement is larger than {MAX_DOCUMENT_BYTES} bytes")
        document = _parse_object(text)
        openbadges.refuse_unsafe(document, "the endorsement")
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
            endorser = self.records.issuer_by_did(endorser_did)
            if endorser is None:
                raise DomainError(f"the endorser {endorser_did} is not a registered issuer")
            authorise(actor, endorser.slug, "submit endorsements")
            key = endorser.require_signing_key()
            active = {key.verification_method: key.public_key_multibase}
            check = proofs.verify(document, lambda vm: decode_public_key(active[vm]) if vm in active else None)
            if not check.ok:
                raise ProofError(f"the endorsement's proof does not verify against {endorser.slug}'s active key: {check.reason}")
            about = self.records.subject(subject_iri or "")
            new_id = endorsement_id(doc_id)
            if self.store.exists(new_id):
                raise DomainError(f"endorsement {doc_id} was already submitted")
            endorsement = Endorsement.give(
                id=new_id, endorser=endorser, subject_kind=about.kind, subject_id=about.id,
                subject_iri=about.iri, comment=comment or "", document=text,
                verification_method=check.verification_method, custodial=False, actor=actor.name,
            )
            return Written(id=str(new_id), position=self.store.commit(endorsement), document=document)

        return self.store.attempt(use_case)

    def withdraw(self, endorsement: str, *, reason: str, actor: Actor) -> Written:
        def use_case() -> Written:
            found = self.records.endorsement(endorsement)
            authorise(actor, self.records.owner(found).slug, "withdraw endorsements")
            found.withdraw(reason=reason, actor=actor.name)
            return Written(id=str(found.id), position=self.store.commit(found))

        return self.store.attempt(use_case)


def _parse_object(text: str) -> dict:
    document = json_text.loads(text)
    if not isinstance(document, dict):
        raise DocumentError(f"expected a JSON object, got {type(document).__name__}")
    return document

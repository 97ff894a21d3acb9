"""Commands about endorsements: the registry signs for a custodial partner, or a partner submits an
endorsement it signed itself (accepted only if the proof verifies against its registered key)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from registry.commands.custody import KeyCustody
from registry.commands.policy import Actor, authorise
from registry.commands import self_signed
from registry.commands.records import Records
from registry.commands.results import Written
from registry.domain import DomainError, Endorsement, NotAuthorised, StandingEndorsement
from registry.domain.identity import endorsement_id, standing_endorsement_id
from registry.settings import Config
from registry.vc import openbadges, proofs
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
            standing = self._stand(endorser, about, new_id)  # a duplicate is refused before signing
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
            return Written(id=str(new_id), position=self.store.commit(endorsement, standing), document=signed)

        return self.store.attempt(use_case)

    def submit(self, text: str, *, actor: Actor) -> Written:
        """Accept an EndorsementCredential the endorser signed itself. The exact text is stored."""
        signed = self_signed.parse(text, {"EndorsementCredential"}, "endorsement", MAX_DOCUMENT_BYTES)
        document, doc_id = signed.document, signed.id
        subject_ref = document.get("credentialSubject", {})
        subject_iri = subject_ref.get("id") if isinstance(subject_ref, dict) else None
        comment = subject_ref.get("endorsementComment") if isinstance(subject_ref, dict) else None

        def use_case() -> Written:
            endorser, verification_method = self_signed.signed_by(self.records, signed, actor,
                                                                  "submit endorsements", "endorsement")
            about = self.records.subject(subject_iri or "")
            new_id = endorsement_id(doc_id)
            if self.store.exists(new_id):
                raise DomainError(f"endorsement {doc_id} was already submitted")
            endorsement = Endorsement.give(
                id=new_id, endorser=endorser, subject_kind=about.kind, subject_id=about.id,
                subject_iri=about.iri, comment=comment or "", document=text,
                verification_method=verification_method, custodial=False, actor=actor.name,
            )
            standing = self._stand(endorser, about, new_id)
            return Written(id=str(new_id), position=self.store.commit(endorsement, standing), document=document)

        return self.store.attempt(use_case)

    def withdraw(self, endorsement: str, *, reason: str, actor: Actor) -> Written:
        def use_case() -> Written:
            found = self.records.endorsement(endorsement)
            authorise(actor, self.records.owner(found).slug, "withdraw endorsements")
            found.withdraw(reason=reason, actor=actor.name)
            standing = self.store.find(standing_endorsement_id(found.endorser_id, found.subject_id))
            if isinstance(standing, StandingEndorsement):  # absent for endorsements older than the rule
                standing.end(found.id)
                return Written(id=str(found.id), position=self.store.commit(found, standing))
            return Written(id=str(found.id), position=self.store.commit(found))

        return self.store.attempt(use_case)

    def _stand(self, endorser, about, endorsement_id) -> StandingEndorsement:
        """The pair's standing endorsement becomes this one; refused (409) while another stands."""
        found = self.store.find(standing_endorsement_id(endorser.id, about.id))
        if not isinstance(found, StandingEndorsement):
            return StandingEndorsement.start(endorser_id=endorser.id, subject_id=about.id,
                                             endorsement_id=endorsement_id)
        found.renew(endorsement_id, endorser=endorser.slug, subject=about.iri)
        return found

"""What every document an organisation signed itself goes through before the registry logs it (an
EndorsementCredential of a partner, an OpenBadgeCredential of an issuer with its own key): one
object of the expected type, safe text, the 1EdTech schema, an id and an issuer; then the proof
checked against the organisation's registered active key, for an actor that may act for it."""

from __future__ import annotations

from dataclasses import dataclass

from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.domain import DomainError, Issuer
from registry.vc import json_text, openbadges, proofs, schema
from registry.vc.errors import DocumentError, ProofError
from registry.vc.multikey import decode_public_key


@dataclass(frozen=True)
class Signed:
    document: dict
    id: str
    signer: str  # the issuer's id (a DID), as the document names it


def parse(text: str, types: set[str], what: str, max_bytes: int) -> Signed:
    """The document, refused with the reason unless it is one `what` the registry can log."""
    if len(text.encode("utf-8")) > max_bytes:
        raise DocumentError(f"the {what} is larger than {max_bytes} bytes")
    document = json_text.loads(text)
    if not isinstance(document, dict):
        raise DocumentError(f"expected a JSON object, got {type(document).__name__}")
    openbadges.refuse_unsafe(document, f"the {what}")
    given = document.get("type") if isinstance(document.get("type"), list) else [document.get("type")]
    if not types & set(given):
        raise DocumentError(f"not an {sorted(types)[-1]} (type must include {sorted(types)[-1]})")
    conformance = schema.check(document)
    if not conformance.ok:
        raise DocumentError(f"the {what} does not conform to its schema: {'; '.join(conformance.errors)}")
    doc_id = document.get("id")
    if not isinstance(doc_id, str) or not doc_id:
        raise DocumentError(f"the {what} needs an id")
    issuer = document.get("issuer")
    signer = issuer.get("id") if isinstance(issuer, dict) else issuer
    if not isinstance(signer, str):
        raise DocumentError(f"the {what} has no issuer id")
    return Signed(document, doc_id, signer)


def signed_by(records: Records, signed: Signed, actor: Actor, action: str, what: str) -> tuple[Issuer, str]:
    """The registered organisation that signed it and the verification method it signed with;
    refused unless the actor may act for it and the proof verifies against its active key."""
    issuer = records.issuer_by_did(signed.signer)
    if issuer is None:
        raise DomainError(f"the {what}'s issuer {signed.signer} is not a registered organisation")
    authorise(actor, issuer.slug, action)
    key = issuer.require_signing_key()
    active = {key.verification_method: key.public_key_multibase}
    check = proofs.verify(signed.document, lambda vm: decode_public_key(active[vm]) if vm in active else None)
    if not check.ok:
        raise ProofError(f"the {what}'s proof does not verify against {issuer.slug}'s active key: {check.reason}")
    return issuer, check.verification_method

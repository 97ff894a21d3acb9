"""The registry's signatures verify through an independent path: plain pyld (the reference JSON-LD
processor) for RDFC-1.0, hashlib for the hashes and `cryptography` for Ed25519, following the W3C
eddsa-rdfc-2022 verification algorithm step by step, with none of the registry's own proof code."""

import hashlib
import json

import base58
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyld import jsonld

from registry.commands import Actor, Award
from registry.vc import contexts

OPERATOR = Actor("test")


def _normalize(document: dict) -> str:
    return jsonld.normalize(document, {"algorithm": "URDNA2015", "format": "application/n-quads",
                                       "documentLoader": contexts.document_loader})


def independently_verified(document: dict, public_key_multibase: str) -> bool:
    (proof,) = document["proof"]
    unsecured = {k: v for k, v in document.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    options["@context"] = document["@context"]
    hash_data = (hashlib.sha256(_normalize(options).encode()).digest()
                 + hashlib.sha256(_normalize(unsecured).encode()).digest())
    raw_key = base58.b58decode(public_key_multibase[1:])
    assert raw_key[:2] == b"\xed\x01"
    signature = base58.b58decode(proof["proofValue"][1:])
    try:
        Ed25519PublicKey.from_public_bytes(raw_key[2:]).verify(signature, hash_data)
    except InvalidSignature:
        return False
    return True


def active_key(registry, slug: str) -> str:
    """The organisation's one active key, as a Multikey."""
    [key] = [k.public_key_multibase for k in registry.queries.keys(slug) if k.state == "active"]
    return key


def test_credentials_and_endorsements_verify_through_pyld_and_cryptography(registry):
    commands = registry.commands
    commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    commands.issuers.register(slug="partner", name="Partner B.V.", actor=OPERATOR)
    achievement = commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Teamwork: Excellent", "description": "Works well with others.",
        "criteria": {"narrative": "Scored 85% or more."}, "tag": ["soft skills"]}).id
    credential = commands.credentials.issue(Award("learner@example.org", achievement, "91%"), actor=OPERATOR)
    endorsement = commands.endorsements.endorse(by="partner", subject=achievement, comment="Recognised by us.",
                                                actor=OPERATOR)

    acme_key = active_key(registry, "acme")
    partner_key = active_key(registry, "partner")
    assert independently_verified(credential.document, acme_key)
    assert independently_verified(endorsement.document, partner_key)

    tampered = json.loads(json.dumps(credential.document))
    tampered["credentialSubject"]["result"][0]["value"] = "99%"
    assert not independently_verified(tampered, acme_key)

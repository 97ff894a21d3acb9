"""The registry's signatures verify through an independent path: plain pyld (the reference JSON-LD
processor) for RDFC-1.0, hashlib for the hashes and `cryptography` for Ed25519, following the W3C
eddsa-rdfc-2022 verification algorithm step by step, with none of the registry's own proof code."""

import hashlib
import json

import base58
import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyld import jsonld

from registry.application import Award, Config, Registry
from registry.keystore import Keystore
from registry.store.append_only import enforce_append_only
from registry.vc import contexts


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


@pytest.fixture
def app(tmp_path, store_env) -> Registry:
    registry = Registry(config=Config(public_url="https://badges.test", keys_dir=tmp_path / "keys"),
                        keystore=Keystore(tmp_path / "keys"), env=store_env)
    enforce_append_only(registry)
    return registry


def test_credentials_and_endorsements_verify_through_pyld_and_cryptography(app):
    app.register_issuer(slug="acme", name="Acme Academy", actor="test")
    app.register_issuer(slug="partner", name="Partner B.V.", actor="test")
    achievement = app.define_achievement(issuer="acme", actor="test", definition={
        "name": "Teamwork: Excellent", "description": "Works well with others.",
        "criteria": {"narrative": "Scored 85% or more."}, "tag": ["soft skills"]}).id
    credential = app.issue_credential(Award("learner@example.org", achievement, "91%"), actor="test")
    endorsement = app.endorse(by="partner", subject=achievement, comment="Recognised by us.", actor="test")

    acme_key = app.issuer("acme").active_key.public_key_multibase
    partner_key = app.issuer("partner").active_key.public_key_multibase
    assert independently_verified(credential.document, acme_key)
    assert independently_verified(endorsement.document, partner_key)

    tampered = json.loads(json.dumps(credential.document))
    tampered["credentialSubject"]["result"][0]["value"] = "99%"
    assert not independently_verified(tampered, acme_key)

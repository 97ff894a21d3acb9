"""What the registry signs, it verifies; what its verifier refuses, it does not sign. Each input the
verifier would reject is refused at issuance with its path, and nothing is stored; the verifier
refuses the same content in a document someone else signed."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.commands import Actor, Award
from registry.vc import did, multikey, openbadges, proofs
from registry.vc.errors import DocumentError

OPERATOR = Actor("test")
LEARNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def definition(**extra) -> dict:
    return {"name": "Teamwork", "description": "Works in a team.", "criteria": {"narrative": "Peer-reviewed."},
            **extra}


@pytest.fixture
def acme(registry):
    registry.commands.issuers.register(slug="acme", name="Acme", actor=OPERATOR)
    return registry


@pytest.mark.parametrize("extra, words", [
    ({"achievementType": "NotAType"}, "achievementType"),
    ({"criteria": {"narrative": "x", "@context": {"@vocab": "https://evil.example/#"}}}, "$.criteria.@context"),
    ({"tag": ["fine", {"@vocab": "https://evil.example/#"}]}, "JSON-LD keywords"),
    ({"image": {"id": "javascript:alert(1)", "type": "Image"}}, "scheme 'javascript' is not allowed"),
    ({"description": "NUL \x00 inside"}, "control character"),
])
def test_an_achievement_the_verifier_would_refuse_is_not_defined(acme, extra, words):
    before = acme.queries.last_position()
    with pytest.raises(DocumentError) as refused:
        acme.commands.achievements.define(issuer="acme", definition=definition(**extra), actor=OPERATOR)
    assert words in str(refused.value)
    assert acme.queries.last_position() == before


@pytest.mark.parametrize("award, words", [
    (dict(recipient="did:"), "'did:' is not a DID"),
    (dict(recipient="did:example:"), "is not a DID"),
    (dict(recipient=LEARNER, result="87%\x00"), "control character"),
    (dict(recipient=LEARNER, evidence="javascript:alert(1)"), "scheme 'javascript' is not allowed"),
])
def test_a_credential_the_verifier_would_refuse_is_not_issued(acme, award, words):
    course = acme.commands.achievements.define(issuer="acme", definition=definition(), actor=OPERATOR).id
    before = acme.queries.last_position()
    with pytest.raises(DocumentError) as refused:
        acme.commands.credentials.issue(Award(achievement=course, **award), actor=OPERATOR)
    assert words in str(refused.value)
    assert acme.queries.last_position() == before


def test_profiles_and_endorsements_the_verifier_would_refuse_are_not_made(acme):
    with pytest.raises(DocumentError, match="scheme 'javascript'"):
        acme.commands.issuers.register(slug="evil", name="Evil", url="javascript:alert(1)", actor=OPERATOR)
    with pytest.raises(DocumentError, match="control character"):
        acme.commands.issuers.update_profile("acme", name="Acme\x00", actor=OPERATOR)
    acme.commands.issuers.register(slug="partner", name="Partner", actor=OPERATOR)
    with pytest.raises(DocumentError, match="control character"):
        acme.commands.endorsements.endorse(by="partner", subject="acme", comment="fine\x00", actor=OPERATOR)


def test_the_verifier_refuses_what_a_stranger_signed_with_a_smuggled_vocabulary(acme):
    key = Ed25519PrivateKey.generate()
    stranger = did.did_key(key.public_key().public_bytes_raw())

    class Signer:
        verification_method = f"{stranger}#{stranger.removeprefix('did:key:')}"
        sign = staticmethod(key.sign)

    issuer = openbadges.profile(stranger, "Stranger")
    achievement = openbadges.achievement("https://stranger.example/a/1", name="Anything", description="Any.",
                                         criteria_narrative="None.", creator=issuer)
    document = openbadges.open_badge_credential("urn:uuid:7d1c3a7e-0f2b-4c8d-9e6a-7b1f2c3d4e5f", issuer, achievement,
                                                {"id": LEARNER}, valid_from="2024-01-01T00:00:00Z")
    # An inline @vocab makes any term "defined" to JSON-LD, so the signature covers it: the
    # registry's verifier still refuses a document that defines its own terms.
    document["credentialSubject"]["@context"] = {"@vocab": "https://stranger.example/terms#"}
    document["credentialSubject"]["degree"] = "Doctor of Everything"
    signed = proofs.sign(document, Signer(), created="2024-01-01T00:00:00Z")
    assert proofs.verify(signed, lambda vm: multikey.decode_public_key(vm.split("#")[1])).ok
    report = acme.queries.verify(json.loads(json.dumps(signed)))
    assert report.verdict == "INVALID"
    assert "JSON-LD keywords other than the top-level @context" in report.find("document").reason

"""Open Badges 3.0 builders and e-mail IdentityObjects: what they build conforms to the 1EdTech
schemas before and after signing, and hashed identities never reveal the address."""

import hashlib
import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.vc import contexts, jsonld, openbadges, proofs, schema
from registry.vc.errors import DocumentError
from registry.vc.identity import hashed_email_identity, matches_email

ISSUER_DID = "did:web:badges.example.org:issuers:acme"


class Signer:
    def __init__(self, verification_method: str):
        self.verification_method = verification_method
        self._key = Ed25519PrivateKey.generate()
        self.public_key = self._key.public_key().public_bytes_raw()

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


def _issuer() -> dict:
    return openbadges.profile(
        ISSUER_DID, "Acme Academy", url="https://acme.example.org", email="badges@acme.example.org",
        description="Teaches teamwork", image="https://acme.example.org/logo.png",
    )


def _achievement() -> dict:
    return openbadges.achievement(
        "https://acme.example.org/achievements/teamwork",
        name="Teamwork",
        description="Collaborates within a group.",
        criteria_narrative="Nominated by peers, confirmed by staff.",
        creator=_issuer(),
        image=openbadges.image("https://acme.example.org/teamwork.png", caption="Teamwork badge"),
        tags=["teamwork", "soft-skills"],
        alignments=[openbadges.alignment("Collaboration", "https://framework.example.org/c/1", target_code="C1")],
        result_descriptions=[
            openbadges.result_description(
                "https://acme.example.org/achievements/teamwork/levels", "Level", "PerformanceLevel",
                allowed_values=["bronze", "silver", "gold"], required_value="bronze",
            )
        ],
        version="1.0",
        extra={"humanCode": "TW-1"},
    )


def _credential(recipient: dict) -> dict:
    return openbadges.open_badge_credential(
        "urn:uuid:9a3f0c1e-4b5d-4f7a-8c2e-1d6b7a8e9f00",
        _issuer(),
        _achievement(),
        recipient,
        valid_from="2024-01-01T00:00:00Z",
        valid_until="2029-01-01T00:00:00+02:00",
        result=[openbadges.result(
            result_description="https://acme.example.org/achievements/teamwork/levels", achieved_level="gold"
        )],
        evidence=[openbadges.evidence(evidence_id="https://acme.example.org/portfolio/42", name="Project")],
        awarded_date="2024-01-01T00:00:00Z",
    )


def _endorsement() -> dict:
    endorser = openbadges.profile("did:web:badges.example.org:issuers:state", "State Board")
    return openbadges.endorsement_credential(
        "urn:uuid:0b7e2a51-7c1f-4d0e-9a55-3c2f1e0d9b11", endorser, ISSUER_DID,
        "Acme Academy is in good standing", valid_from="2024-01-01T00:00:00Z",
    )


# --- IdentityObject ---------------------------------------------------------------------------

def test_hashed_identity_is_sha256_of_normalized_address_and_salt():
    identity = hashed_email_identity("  Ada.Lovelace@Example.ORG ", salt="s4lt")
    expected = hashlib.sha256(b"ada.lovelace@example.orgs4lt").hexdigest()
    assert identity == {
        "type": "IdentityObject", "identityHash": "sha256$" + expected,
        "identityType": "emailAddress", "hashed": True, "salt": "s4lt",
    }


def test_random_salt_is_long_fresh_and_hides_the_address():
    first = hashed_email_identity("grace.hopper@navy.example")
    second = hashed_email_identity("grace.hopper@navy.example")
    assert len(bytes.fromhex(first["salt"])) >= 16
    assert first["salt"] != second["salt"] and first["identityHash"] != second["identityHash"]
    # None of these words can occur in hex digests or salts by chance.
    assert all(word not in json.dumps(first).lower() for word in ("grace", "hopper", "navy"))


@pytest.mark.parametrize("not_an_address", ["", "ada", "ada@example", "ada@@example.org", "a da@example.org"])
def test_hashed_identity_rejects_non_addresses(not_an_address):
    with pytest.raises(DocumentError, match="not an e-mail address"):
        hashed_email_identity(not_an_address)


def test_matches_email_accepts_the_address_in_any_case_and_nothing_else():
    identity = hashed_email_identity("ada@example.org")
    assert matches_email(identity, " ADA@example.org")
    assert not matches_email(identity, "bob@example.org")
    assert not matches_email(identity, "not an address")
    assert not matches_email({**identity, "salt": "other"}, "ada@example.org")
    assert not matches_email({**identity, "identityType": "name"}, "ada@example.org")


def test_matches_email_reads_plain_identities():
    plain = {"type": "IdentityObject", "identityHash": "ada@example.org", "identityType": "emailAddress", "hashed": False}
    assert matches_email(plain, "Ada@Example.org")
    assert not matches_email(plain, "bob@example.org")


def test_identity_object_conforms_to_its_schema_definition():
    assert schema.check_part(hashed_email_identity("ada@example.org"), "IdentityObject").ok


# --- builders ---------------------------------------------------------------------------------

def test_profile_and_achievement_conform_to_their_schema_definitions():
    for part, definition in [(_issuer(), "Profile"), (_achievement(), "Achievement")]:
        result = schema.check_part(part, definition)
        assert result.ok and not result.warnings, result


def test_achievement_extra_may_not_replace_builder_fields():
    with pytest.raises(DocumentError, match=r"\['name'\]"):
        openbadges.achievement(
            "urn:a", name="A", description="d", criteria_narrative="c", creator=None, extra={"name": "B"}
        )


@pytest.mark.parametrize(
    "recipient",
    [{"id": "did:key:z6MkjZRZv3aez3r18pB1RBFJR1kwUVJ5jHt92JmQwXbd5hwi"},
     {"identifier": [hashed_email_identity("ada@example.org")]}],
    ids=["did", "hashed-email"],
)
def test_open_badge_credential_conforms_before_and_after_signing(recipient):
    credential = _credential(recipient)
    assert credential["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert credential["credentialSubject"]["type"] == ["AchievementSubject"]
    assert credential["name"] == "Teamwork"  # defaults to the achievement's name
    unsigned = schema.check(credential)
    assert unsigned.ok and not unsigned.warnings, unsigned

    signer = Signer(f"{ISSUER_DID}#key-1")
    signed = proofs.sign(credential, signer, created="2024-01-01T00:00:00Z")
    signed_check = schema.check(signed)
    assert signed_check.ok and not signed_check.warnings, signed_check
    assert proofs.verify(signed, lambda vm: signer.public_key if vm == signer.verification_method else None).ok


def test_credential_schema_type_is_a_defined_term_so_signatures_cover_it():
    credential = _credential({"id": "did:example:ada"})
    assert credential["@context"] == [*contexts.OB_CONTEXTS, contexts.OB_V3P0_EXTENSIONS]
    assert credential["credentialSchema"] == [
        {"id": openbadges.ACHIEVEMENT_CREDENTIAL_SCHEMA, "type": "1EdTechJsonSchemaValidator2019"}
    ]
    nquads = jsonld.canonical_nquads(credential)
    assert "<https://purl.imsglobal.org/spec/vccs/v1p0/context.json#1EdTechJsonSchemaValidator2019>" in nquads


def test_endorsement_credential_conforms_before_and_after_signing():
    endorsement = _endorsement()
    assert endorsement["credentialSubject"] == {
        "id": ISSUER_DID, "type": ["EndorsementSubject"], "endorsementComment": "Acme Academy is in good standing",
    }
    assert schema.check(endorsement).schema == schema.ENDORSEMENT_CREDENTIAL
    assert schema.check(endorsement).ok
    signed = proofs.sign(endorsement, Signer("did:web:badges.example.org:issuers:state#key-1"))
    result = schema.check(signed)
    assert result.ok and not result.warnings, result


@pytest.mark.parametrize(
    "valid_from, valid_until, message",
    [("2024-01-01", None, "validFrom '2024-01-01' is not an ISO 8601 date-time"),
     ("2024-01-01T00:00:00", None, "with an offset"),
     ("2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", "is not after validFrom")],
)
def test_credential_validity_dates_are_checked(valid_from, valid_until, message):
    with pytest.raises(DocumentError, match=message):
        openbadges.open_badge_credential(
            "urn:c", _issuer(), _achievement(), {"id": "did:example:ada"},
            valid_from=valid_from, valid_until=valid_until,
        )


@pytest.mark.parametrize("recipient", [{}, {"email": "ada@example.org"}, {"identifier": []}])
def test_recipient_must_be_an_id_or_identity_objects(recipient):
    with pytest.raises(DocumentError, match="recipient"):
        openbadges.open_badge_credential(
            "urn:c", _issuer(), _achievement(), recipient, valid_from="2024-01-01T00:00:00Z"
        )


def test_result_and_evidence_need_content():
    with pytest.raises(DocumentError, match="result needs"):
        openbadges.result()
    with pytest.raises(DocumentError, match="evidence needs"):
        openbadges.evidence(name="nothing to point at")

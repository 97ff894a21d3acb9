"""The verification report: published 1EdTech fixtures, malformed input, and signatures judged
against an issuer's key history (registration, retirement, compromise)."""

import json
from datetime import datetime, timedelta, timezone

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.vc import did, multikey, openbadges, proofs
from registry.vc.report import IssuerKnowledge, KeyInterval, VerificationReport
from registry.vc.verification import verify

NOW = datetime(2026, 6, 1, tzinfo=timezone.utc)
ORDER = ["document", "schema", "proof", "issuer-match", "issuer-known", "key-history",
         "valid-from", "valid-until", "status"]
ISSUER = "did:web:badges.example.org:issuers:acme"
VM = f"{ISSUER}#key-1"
SIGNED_AT = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _at(year: int, month: int, day: int = 1) -> datetime:
    return datetime(year, month, day, tzinfo=timezone.utc)


def _fixture(standards, name: str) -> dict:
    return json.loads((standards / "fixtures" / "1edtech" / name).read_text())


def _outcomes(report: VerificationReport) -> dict[str, str]:
    return {check.name: check.outcome for check in report.checks}


def _failed(report: VerificationReport) -> list[str]:
    return [check.name for check in report.failures]


class Signer:
    def __init__(self, verification_method: str):
        self.verification_method = verification_method
        self._key = Ed25519PrivateKey.generate()
        self.public_key_multibase = multikey.encode_public_key(self._key.public_key().public_bytes_raw())

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


@pytest.fixture(scope="module")
def signer() -> Signer:
    return Signer(VM)


@pytest.fixture(scope="module")
def signed(signer) -> dict:
    issuer = openbadges.profile(ISSUER, "Acme Academy")
    achievement = openbadges.achievement(
        "https://acme.example.org/achievements/teamwork", name="Teamwork", description="Works in a group.",
        criteria_narrative="Nominated by peers.", creator=issuer,
    )
    credential = openbadges.open_badge_credential(
        "urn:uuid:5d1c3a7e-0f2b-4c8d-9e6a-7b1f2c3d4e5f", issuer, achievement, {"id": "did:example:ada"},
        valid_from="2024-01-01T00:00:00Z",
    )
    return proofs.sign(credential, signer, created="2024-01-01T00:00:00Z")


def _knowing(signer: Signer, **interval) -> IssuerKnowledge:
    key = KeyInterval(signer.verification_method, signer.public_key_multibase, **{"added_at": _at(2023, 1), **interval})
    return IssuerKnowledge(ISSUER, [key])


# --- published fixtures, issuer not registered --------------------------------------------------

@pytest.mark.parametrize("name", ["simple.json", "endorsement-valid.json"])
def test_published_valid_fixtures_verify_with_warnings(standards, name):
    document = _fixture(standards, name)
    report = verify(document, now=NOW, issuer=None)
    assert report.valid, report.failures
    assert [check.name for check in report.checks] == ORDER
    assert report.credential_id == document["id"] and report.issuer_id == document["issuer"]["id"]
    assert _outcomes(report) == {
        "document": "pass", "schema": "pass", "proof": "warn", "issuer-match": "pass", "issuer-known": "warn",
        "key-history": "skip", "valid-from": "pass", "valid-until": "pass", "status": "skip",
    }
    assert "fragment" in report.find("proof").reason
    assert report.find("issuer-known").reason == "issuer is not registered here"
    assert report.find("status").reason == "the credential has no credentialStatus"


def test_did_key_fixture_signature_verifies_but_its_key_is_not_the_issuers(standards):
    # 1EdTech lists this fixture as valid, but its did:key signer is not its urn:uuid issuer, and
    # nothing ties the two: accepting it would let any key speak for any issuer.
    # 1EdTech lists it as valid: its issuer is a urn:uuid, to which no key can be bound, so the
    # mismatch with the did:key signer is a warning, not a failure.
    report = verify(_fixture(standards, "simple-did-key-method.json"), now=NOW, issuer=None)
    assert report.find("proof").outcome == "pass"
    assert report.valid and _failed(report) == []
    assert report.find("issuer-match").outcome == "warn"
    assert "urn:uuid:6f2e33e5-7a29-4155-840a-59483ba10164 cannot be resolved to keys" in report.find("issuer-match").reason


@pytest.mark.parametrize(
    "name, failing, words",
    [("simple-err-expired.json", ["valid-until"], "expired at 2010-01-01T00:00:00Z"),
     ("simple-err-proof-value.json", ["proof"], "signature does not match"),
     # Its published proof does not verify over its own content either (checked against the
     # type variants too); the schema failure is the one the fixture is about.
     ("simple-err-type.json", ["schema", "proof"], "OtherCredential")],
)
def test_published_invalid_fixtures_fail_for_their_own_reason(standards, name, failing, words):
    report = verify(_fixture(standards, name), now=NOW, issuer=None)
    assert not report.valid
    assert _failed(report) == failing
    assert words in report.find(failing[0]).reason


# --- malformed input --------------------------------------------------------------------------

@pytest.mark.parametrize(
    "document, reason",
    [([], "a credential is a JSON object, got list"),
     ("{}", "a credential is a JSON object, got str"),
     ({}, "credential has no type"),
     ({"type": 5}, "type must be a string or a non-empty list of strings, got 5"),
     ({"type": []}, "type must be a string or a non-empty list of strings, got []")],
)
def test_malformed_documents_fail_the_document_check(document, reason):
    report = verify(document, now=NOW, issuer=None)
    assert not report.valid and report.checks == [report.find("document")]
    assert report.find("document").reason == reason


def test_structurally_broken_credential_reports_instead_of_raising():
    report = verify({"type": "OpenBadgeCredential", "proof": "x", "validFrom": 1}, now=NOW, issuer=None)
    assert [check.name for check in report.checks] == ORDER
    assert {"schema", "proof", "issuer-match", "valid-from"} <= set(_failed(report))


def test_a_context_this_verifier_lacks_is_indeterminate_not_invalid(signed, signer):
    """A genuine credential under an OB context version we do not ship (a future 3.0.4 here) cannot have its
    signature checked: the proof is unanswered, the verdict INDETERMINATE, never VALID."""
    other = {**signed, "@context": [signed["@context"][0], "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.4.json",
                                    *signed["@context"][2:]]}
    report = verify(other, now=NOW, issuer=_knowing(signer), logged_at=SIGNED_AT, registry_status="active")
    assert report.verdict == "INDETERMINATE" and not report.valid
    proof = report.find("proof")
    assert (proof.outcome, proof.code) == ("indeterminate", "proof.unknown-context")
    assert "context-3.0.4.json" in proof.reason and "only pinned contexts" in proof.reason
    forged = {**other, "name": "changed"}
    assert verify(forged, now=NOW, issuer=_knowing(signer)).verdict != "VALID"


def test_malformed_dates_fail_their_checks(signed):
    broken = {**signed, "validFrom": "yesterday", "validUntil": "2030-01-01"}
    report = verify(broken, now=NOW, issuer=None)
    assert "not an ISO 8601 date-time with an offset" in report.find("valid-from").reason
    assert report.find("valid-until").outcome == "fail"


def test_not_yet_valid_fails_valid_from(signed, signer):
    report = verify(signed, now=_at(2023, 12, 31), issuer=_knowing(signer), logged_at=SIGNED_AT)
    assert _failed(report) == ["valid-from"]
    assert "not valid before 2024-01-01T00:00:00Z" in report.find("valid-from").reason


@pytest.mark.parametrize("status, outcome", [("active", "pass"), ("revoked", "fail"), ("suspended", "fail"),
                                             ("lost", "fail")])
def test_registry_status(signed, signer, status, outcome):
    report = verify(signed, now=NOW, issuer=_knowing(signer), logged_at=SIGNED_AT, registry_status=status)
    assert report.find("status").outcome == outcome
    assert report.valid == (outcome == "pass")


def test_naive_now_is_a_caller_error(signed):
    with pytest.raises(ValueError, match="timezone-aware"):
        verify(signed, now=datetime(2026, 1, 1), issuer=None)


def test_report_is_plain_data(signed, signer):
    report = verify(signed, now=NOW, issuer=_knowing(signer))
    data = report.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert msgspec.convert(data, VerificationReport) == report


# --- key history ------------------------------------------------------------------------------

def test_registered_issuer_with_current_key_is_fully_valid(signed, signer):
    report = verify(signed, now=NOW, issuer=_knowing(signer), logged_at=SIGNED_AT, registry_status="active")
    assert report.valid
    assert set(_outcomes(report).values()) == {"pass"}
    assert "logged at 2024-01-01T00:00:00+00:00" in report.find("key-history").reason


def test_unlogged_signature_is_dated_by_its_proof_created(signed, signer):
    report = verify(signed, now=NOW, issuer=_knowing(signer))
    assert report.valid
    assert "proof created 2024-01-01T00:00:00Z" in report.find("key-history").reason


def test_signed_before_compromise_and_in_a_checkpoint_before_it_passes(signed, signer):
    issuer = _knowing(signer, compromised_since=_at(2024, 6))
    report = verify(signed, now=NOW, issuer=issuer, logged_at=SIGNED_AT, checkpointed_at=SIGNED_AT)
    assert report.valid, report.failures


def test_logged_before_compromise_but_in_no_checkpoint_before_it_fails(signed, signer):
    issuer = _knowing(signer, compromised_since=_at(2024, 6))
    for checkpointed in (None, _at(2024, 7)):
        report = verify(signed, now=NOW, issuer=issuer, logged_at=SIGNED_AT, checkpointed_at=checkpointed)
        assert _failed(report) == ["key-history"]
        assert "checkpoint" in report.find("key-history").reason


def test_logged_after_compromise_fails(signed, signer):
    issuer = _knowing(signer, compromised_since=_at(2024, 6))
    report = verify(signed, now=NOW, issuer=issuer, logged_at=_at(2024, 7))
    assert _failed(report) == ["key-history"]
    assert "compromised since 2024-06-01" in report.find("key-history").reason


def test_unlogged_signature_with_compromised_key_fails_even_if_created_before(signed, signer):
    issuer = _knowing(signer, compromised_since=_at(2024, 6))
    report = verify(signed, now=NOW, issuer=issuer)
    assert _failed(report) == ["key-history"]
    assert "cannot be dated" in report.find("key-history").reason


def test_key_never_registered_for_the_issuer_fails(signed, signer):
    other = Signer(f"{ISSUER}#key-2")
    report = verify(signed, now=NOW, issuer=_knowing(other), logged_at=SIGNED_AT)
    assert set(_failed(report)) == {"proof", "key-history"}
    assert report.find("key-history").reason == f"{VM} was never registered for this issuer ({ISSUER})"
    assert "only keys registered for" in report.find("proof").reason


def test_a_did_web_key_counts_only_as_its_did_document_lists_it(signer):
    # Anyone can put a key of theirs in a verification method's fragment: for a registered issuer
    # only its registered keys count, and for any other did:web only the keys its DID document
    # lists. Offline that document is not had: the verdict is INDETERMINATE, never VALID.
    intruder = Signer("to be named after its own key")
    intruder.verification_method = f"{ISSUER}#{intruder.public_key_multibase}"
    document = openbadges.endorsement_credential(
        "urn:uuid:1", openbadges.profile(ISSUER, "Acme"), "did:example:x", "fine", valid_from="2024-01-01T00:00:00Z"
    )
    forged = proofs.sign(document, intruder, created="2024-01-01T00:00:00Z")
    offline = verify(forged, now=NOW, issuer=None)
    assert offline.find("proof").outcome == "indeterminate" and offline.verdict == "INDETERMINATE"
    assert "not fetched" in offline.find("proof").reason and not offline.valid
    assert verify(forged, now=NOW, issuer=_knowing(signer)).find("proof").outcome == "fail"

    # The document as its controller publishes it decides: this one lists the real key only.
    listed = {"id": ISSUER, "verificationMethod": [{"id": VM, "type": "Multikey", "controller": ISSUER,
                                                     "publicKeyMultibase": signer.public_key_multibase}],
              "assertionMethod": [VM]}

    def from_document(vm):
        try:
            return did.key_in_did_document(listed, vm.split("#")[0], vm)
        except Exception as exc:
            raise proofs.KeyRefused(str(exc)) from None

    refused = verify(forged, now=NOW, issuer=None, resolve=from_document)
    assert refused.verdict == "INVALID" and "is not an assertion method of" in refused.find("proof").reason


def test_retired_key_logged_while_active_passes_and_after_retirement_fails(signed, signer):
    issuer = _knowing(signer, retired_at=_at(2024, 3))
    assert verify(signed, now=NOW, issuer=issuer, logged_at=SIGNED_AT).valid
    late = verify(signed, now=NOW, issuer=issuer, logged_at=_at(2024, 3))
    assert _failed(late) == ["key-history"]
    assert "retired at 2024-03-01" in late.find("key-history").reason


def test_signature_before_key_registration_fails(signed, signer):
    report = verify(signed, now=NOW, issuer=_knowing(signer, added_at=_at(2024, 2)), logged_at=SIGNED_AT)
    assert _failed(report) == ["key-history"]
    assert "before key" in report.find("key-history").reason


def test_rotated_then_re_registered_key_passes_in_either_interval(signed, signer):
    first = KeyInterval(VM, signer.public_key_multibase, _at(2020, 1), retired_at=_at(2021, 1))
    second = KeyInterval(VM, signer.public_key_multibase, _at(2023, 6))
    report = verify(signed, now=NOW, issuer=IssuerKnowledge(ISSUER, [first, second]), logged_at=SIGNED_AT)
    assert report.valid, report.failures


def test_deactivated_issuer(signed, signer):
    key = _knowing(signer).keys
    before = IssuerKnowledge(ISSUER, key, deactivated_at=SIGNED_AT + timedelta(days=1))
    assert verify(signed, now=NOW, issuer=before, logged_at=SIGNED_AT).valid
    assert _failed(verify(signed, now=NOW, issuer=before)) == ["issuer-known"]
    after = IssuerKnowledge(ISSUER, key, deactivated_at=SIGNED_AT)
    assert _failed(verify(signed, now=NOW, issuer=after, logged_at=SIGNED_AT)) == ["issuer-known"]


def test_knowledge_about_another_issuer_fails(signed, signer):
    report = verify(signed, now=NOW, issuer=IssuerKnowledge("did:web:elsewhere", _knowing(signer).keys))
    assert "issuer-known" in _failed(report)


def test_proof_without_usable_created_cannot_be_dated(signed, signer):
    undated = {**signed, "proof": [{k: v for k, v in signed["proof"][0].items() if k != "created"}]}
    report = verify(undated, now=NOW, issuer=_knowing(signer))
    assert "key-history" in _failed(report)
    assert report.find("key-history").reason.startswith("signing time unknown")


def test_a_signer_that_is_not_the_did_issuer_fails_issuer_match():
    # Only an issuer that cannot be resolved (a URN) gets a warning; a DID issuer must control the key.
    intruder = Ed25519PrivateKey.generate()
    intruder_did = did.did_key(intruder.public_key().public_bytes_raw())
    stranger = Signer(f"{intruder_did}#{intruder_did.removeprefix('did:key:')}")
    stranger._key = intruder
    issuer = openbadges.profile("did:web:acme.example:issuers:acme", "Acme Academy")
    achievement = openbadges.achievement(
        "https://acme.example/achievements/1", name="Teamwork", description="Works in a group.",
        criteria_narrative="Nominated by peers.", creator=issuer,
    )
    credential = openbadges.open_badge_credential(
        "urn:uuid:0d1c3a7e-0f2b-4c8d-9e6a-7b1f2c3d4e5f", issuer, achievement, {"id": "did:example:ada"},
        valid_from="2024-01-01T00:00:00Z",
    )
    report = verify(proofs.sign(credential, stranger, created="2024-01-01T00:00:00Z"), now=NOW, issuer=None)
    assert report.find("proof").outcome == "pass"
    assert report.find("issuer-match").outcome == "fail"
    assert not report.valid

"""Credentials other issuers signed: the Digital Credentials Consortium's test credentials
(tests/standards/fixtures/dcc) on VC 1.1 under the OB 3.0.1, 3.0.2 and 3.0.3 contexts and on VC 2.0.
Their signatures verify only if the contexts pinned for verifying are byte-for-byte the terms the
issuer signed under, so these tests are the proof of those copies. Nothing is fetched: DID documents
and status lists are given for their URLs, as `registry verify --document URL=FILE` does."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from registry.vc import contexts, proofs
from registry.vc.errors import ProofError

DCC = "https://digitalcredentials.github.io/vc-test-fixtures"
LEGACY_DID_URL = f"{DCC}/dids/legacy/did.json"
OIDF_DID_URL = f"{DCC}/dids/oidf/did.json"
LIST_URL = f"{DCC}/statusLists/didkey-ed25519Signature2020"


@pytest.fixture(scope="module")
def fixtures(standards):
    return standards / "fixtures" / "dcc"


def load(fixtures, name: str) -> dict:
    return json.loads((fixtures / name).read_text())


def given(fixtures, **by_url: str) -> dict[str, bytes]:
    return {url: (fixtures / name).read_bytes() for url, name in by_url.items()}


def outcomes(report) -> dict[str, str]:
    return {check.name: check.outcome for check in report.checks}


@pytest.mark.parametrize("name, context, suite", [
    ("v1-ob302-ed25519-didkey.json", contexts.OB_V3P0_3_0_2, "Ed25519Signature2020"),
    ("v1-ob303-eddsa-didkey.json", contexts.OB_V3P0, "eddsa-rdfc-2022"),
    ("v1-ob303-both-didkey.json", contexts.OB_V3P0, "all 2 proofs verified"),
])
def test_vc_1_1_open_badges_of_another_issuer_are_valid(outside_verifier, fixtures, name, context, suite):
    document = load(fixtures, name)
    assert document["@context"][:2] == [contexts.VC_V1, context] and "issuanceDate" in document
    report = outside_verifier.queries.verify(document, offline=True)
    assert report.verdict == "VALID", [(c.name, c.reason) for c in report.failures + report.unanswered]
    assert outcomes(report)["proof"] in ("pass", "warn") and suite in report.find("proof").reason
    schema = report.find("schema")
    assert schema.outcome == "warn" and "VC 1.1" in schema.reason and "issuanceDate as validFrom" in schema.reason
    assert report.find("valid-from").reason == f"valid from {document['issuanceDate']}"
    assert report.find("valid-until").reason == "credential has no expirationDate, so it does not expire"
    assert report.summary.issued == document["issuanceDate"]


def test_ob_3_0_1_on_vc_1_1_under_did_web(outside_verifier, fixtures):
    """The 3.0.1 context and Data Integrity v2 are proven by the signature; the DCC's status list names
    itself by another URL than the one the credential gives, so the status is not established."""
    document = load(fixtures, "v1-ob301-eddsa-didweb-status.json")
    assert contexts.OB_V3P0_3_0_1 in document["@context"] and contexts.DATA_INTEGRITY_V2 in document["@context"]
    documents = given(fixtures, **{LEGACY_DID_URL: "did-legacy.json",
                                   f"{LIST_URL}/e5WK8CbZ1GjycuPombrj": "status-list-e5WK8CbZ1GjycuPombrj.json"})
    report = outside_verifier.queries.verify(document, documents, offline=True)
    assert outcomes(report)["proof"] in ("pass", "warn"), report.find("proof").reason
    assert outcomes(report)["key-history"] == "pass"  # listed as an assertion method of its DID document
    status = report.find("status")
    assert status.outcome == "indeterminate" and "names itself 'https://testing.dcconsortium.org/" in status.reason
    assert report.verdict == "INDETERMINATE"

    without_did_document = outside_verifier.queries.verify(document, offline=True)
    assert without_did_document.verdict == "INDETERMINATE"
    assert without_did_document.find("proof").outcome == "indeterminate"


def test_an_expired_vc_1_1_credential_is_invalid_by_its_expiration_date(outside_verifier, fixtures):
    document = load(fixtures, "v1-ob302-ed25519-didkey-expired.json")
    report = outside_verifier.queries.verify(document, offline=True)
    assert outcomes(report)["proof"] in ("pass", "warn")
    until = report.find("valid-until")
    assert until.outcome == "fail" and until.reason.startswith(f"expired at {document['expirationDate']}")
    assert report.verdict == "INVALID"


def test_vc_2_0_credential_and_endorsement_of_another_issuer(outside_verifier, fixtures):
    credential = load(fixtures, "v2-eddsa-didweb.json")
    report = outside_verifier.queries.verify(credential, given(fixtures, **{OIDF_DID_URL: "did-oidf.json"}), offline=True)
    assert report.verdict == "VALID", [(c.name, c.reason) for c in report.failures + report.unanswered]
    assert outside_verifier.queries.verify(credential, offline=True).verdict == "INDETERMINATE"

    endorsement = load(fixtures, "v2-both-didkey-endorsement.json")
    assert "EndorsementCredential" in endorsement["type"]
    assert outside_verifier.queries.verify(endorsement, offline=True).verdict == "VALID"


def test_tampered_credential_and_tampered_status_list_are_invalid(outside_verifier, fixtures):
    tampered = outside_verifier.queries.verify(load(fixtures, "v2-ed25519-didkey-tampered.json"), offline=True)
    assert tampered.verdict == "INVALID" and "signature does not match" in tampered.find("proof").reason

    document = load(fixtures, "v2-ed25519-didkey-tampered-status-list.json")
    url = document["credentialStatus"]["statusListCredential"]
    assert url == f"{LIST_URL}/tampered"
    report = outside_verifier.queries.verify(document, given(fixtures, **{url: "status-list-tampered.json"}), offline=True)
    status = report.find("status")
    assert status.outcome == "fail" and "does not verify" in status.reason
    assert report.verdict == "INVALID"


def test_the_registry_does_not_sign_under_the_contexts_it_only_verifies(fixtures):
    class Signer:
        verification_method = "did:key:z6MknNQD1WHLGGraFi6zcbGevuAgkVfdyCdtZnQTGWVVvR5Q#z6MknNQD1WHLGGraFi6zcbGevuAgkVfdyCdtZnQTGWVVvR5Q"

        def sign(self, data: bytes) -> bytes:
            raise AssertionError("must not be asked to sign")

    unsigned = {k: v for k, v in load(fixtures, "v1-ob303-eddsa-didkey.json").items() if k != "proof"}
    unsigned["@context"] = [contexts.VC_V2, *unsigned["@context"][1:]]  # still carries Data Integrity v2
    with pytest.raises(ProofError, match="does not sign under 'https://w3id.org/security/data-integrity/v2'"):
        proofs.sign(unsigned, Signer())


def test_cli_verifies_a_vc_1_1_credential_and_says_what_it_is(fixtures, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_HOME": str(tmp_path / "home"), "REGISTRY_KEYS": str(tmp_path / "keys")})

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "registry.cli", "verify", *argv], env=env,
                              capture_output=True, text=True, timeout=60)

    valid = run(str(fixtures / "v1-ob302-ed25519-didkey.json"), "--offline")
    assert valid.returncode == 0, valid.stdout + valid.stderr
    assert valid.stdout.startswith(f"VALID {fixtures / 'v1-ob302-ed25519-didkey.json'} \u2014 ")
    assert valid.stdout.endswith(f"{fixtures / 'v1-ob302-ed25519-didkey.json'} \u2014 \"Badge\" from "
                                 "did:key:z6MknNQD1WHLGGraFi6zcbGevuAgkVfdyCdtZnQTGWVVvR5Q, issued 2025-01-09T15:06:31Z\n")

    status = run(str(fixtures / "v1-ob301-eddsa-didweb-status.json"), "--offline",
                 "--document", f"{LEGACY_DID_URL}={fixtures / 'did-legacy.json'}",
                 "--document", f"{LIST_URL}/e5WK8CbZ1GjycuPombrj={fixtures / 'status-list-e5WK8CbZ1GjycuPombrj.json'}")
    assert status.returncode == 3 and status.stdout.startswith("INDETERMINATE ") and "names itself" in status.stdout

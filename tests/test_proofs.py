"""eddsa-rdfc-2022 signing and verification against the W3C vectors, 1EdTech's fixtures and didkit."""

import asyncio
import copy
import hashlib
import json
from pathlib import Path

import base58
import didkit
import pyld
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.vc import contexts, did, multikey, proofs
from registry.vc.errors import ProofError, UndefinedTermError
from registry.vc.jsonld import canonical_nquads

EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
EXAMPLES_V2_SHA256 = "57393fbc69d6efb9b9b5dc9cb6b9880b0944360abfe2eaf459c9e58cf2279d7c"
VECTOR_CREATED = "2023-02-24T23:36:38Z"
BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


class SeedSigner:
    """A Signer over an in-memory Ed25519 key (the keystore's KeySigner does this for real issuers)."""

    def __init__(self, secret: bytes, verification_method: str | None = None):
        self._key = Ed25519PrivateKey.from_private_bytes(secret)
        self.public_key = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.verification_method = verification_method or did.did_key(self.public_key) + "#" + multikey.encode_public_key(self.public_key)

    def sign(self, data: bytes) -> bytes:
        return self._key.sign(data)


def offline_key(vm: str) -> bytes | None:
    resolved = did.resolve_verification_method(vm)
    return resolved.public_key if resolved else None


@pytest.fixture(scope="module")
def vectors(standards: Path) -> Path:
    data = (standards / "contexts" / "credentials-examples-v2.jsonld").read_bytes()
    contexts.register(EXAMPLES_V2, data, EXAMPLES_V2_SHA256)
    return standards / "vectors" / "w3c-vc-di-eddsa"


@pytest.fixture(scope="module")
def vector_signer(vectors: Path) -> SeedSigner:
    pair = json.loads((vectors / "keyPair.json").read_text())
    public = pair["publicKeyMultibase"]
    return SeedSigner(multikey.decode_secret_key(pair["privateKeyMultibase"]), f"did:key:{public}#{public}")


def load(path: Path) -> dict:
    return json.loads(path.read_text())


def fixture(standards: Path, name: str) -> dict:
    return load(standards / "fixtures" / "1edtech" / name)


def one_char_changes(text: str):
    for i, char in enumerate(text):
        yield text[:i] + ("X" if char != "X" else "Y") + text[i + 1:]


def string_leaves(node, path=()):
    """(path, value) of every string in a JSON document, proof excluded."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        if key == "proof":
            continue
        if isinstance(value, str):
            yield path + (key,), value
        else:
            yield from string_leaves(value, path + (key,))


def replaced(document: dict, path: tuple, value) -> dict:
    changed = copy.deepcopy(document)
    target = changed
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return changed


# --- W3C eddsa-rdfc-2022 vector ---------------------------------------------------------------


def test_intermediate_forms_match_the_w3c_vector(vectors, vector_signer):
    unsigned = load(vectors / "unsigned.json")
    suite = vectors / "eddsa-rdfc-2022"
    config = proofs.proof_configuration(
        unsigned, verification_method=vector_signer.verification_method, created=VECTOR_CREATED
    )
    assert config == load(suite / "proofConfigDataInt.json")
    assert canonical_nquads(config) == (suite / "proofCanonDataInt.txt").read_text()
    assert canonical_nquads(unsigned) == (suite / "canonDocDataInt.txt").read_text()
    hashed = proofs.hash_data(config, unsigned)
    assert hashed[:32].hex() == (suite / "proofHashDataInt.txt").read_text().strip()
    assert hashed[32:].hex() == (suite / "docHashDataInt.txt").read_text().strip()
    assert hashed.hex() == (suite / "combinedHashDataInt.txt").read_text().strip()
    signature = vector_signer.sign(hashed)
    assert signature.hex() == (suite / "sigHexDataInt.txt").read_text().strip()
    assert "z" + base58.b58encode(signature).decode() == (suite / "sigBTC58DataInt.txt").read_text().strip()


def test_sign_reproduces_the_w3c_signed_credential(vectors, vector_signer):
    unsigned = load(vectors / "unsigned.json")
    before = copy.deepcopy(unsigned)
    expected = load(vectors / "eddsa-rdfc-2022" / "signedDataInt.json")
    signed = proofs.sign(unsigned, vector_signer, created=VECTOR_CREATED)
    assert signed["proof"] == [expected["proof"]]
    assert list(signed["proof"][0]) == list(expected["proof"])  # member order too
    assert {k: v for k, v in signed.items() if k != "proof"} == unsigned
    assert unsigned == before  # the input is not modified


def test_verify_accepts_the_w3c_signed_credential_and_warns_about_a_single_proof(vectors):
    signed = load(vectors / "eddsa-rdfc-2022" / "signedDataInt.json")
    before = copy.deepcopy(signed)
    check = proofs.verify(signed, offline_key)
    assert signed == before
    assert check.ok, check.reason
    assert check.cryptosuite == "eddsa-rdfc-2022"
    assert check.created == VECTOR_CREATED
    assert check.warnings == [proofs.SINGLE_PROOF_WARNING]


def test_verify_rejects_every_one_character_change_of_the_proof_value(vectors):
    signed = load(vectors / "eddsa-rdfc-2022" / "signedDataInt.json")
    value = signed["proof"]["proofValue"]
    for changed in one_char_changes(value):
        tampered = replaced(signed, ("proof", "proofValue"), changed)
        assert not proofs.verify(tampered, offline_key).ok, changed


def test_verify_rejects_every_one_character_change_of_a_document_value(vectors):
    signed = load(vectors / "eddsa-rdfc-2022" / "signedDataInt.json")
    leaves = list(string_leaves(signed))
    assert len(leaves) == 11
    tried = 0
    for path, value in leaves:
        for changed in one_char_changes(value):
            assert not proofs.verify(replaced(signed, path, changed), offline_key).ok, (path, changed)
            tried += 1
    assert tried == sum(len(v) for _, v in leaves)


def test_a_changed_document_value_fails_for_its_signature(vectors):
    signed = load(vectors / "eddsa-rdfc-2022" / "signedDataInt.json")
    check = proofs.verify(replaced(signed, ("credentialSubject", "alumniOf"), "The School of Exploits"), offline_key)
    assert not check.ok
    assert check.reason.startswith("signature does not match")


# --- legacy Ed25519Signature2020 -----------------------------------------------------------------


def test_verify_accepts_the_w3c_ed25519signature2020_credential(vectors):
    signed = load(vectors / "Ed25519Signature2020" / "signedEdSig.json")
    check = proofs.verify(signed, offline_key)
    assert check.ok, check.reason
    assert check.cryptosuite is None and "Ed25519Signature2020" in check.reason
    tampered = replaced(signed, ("name",), "Alumni Credential!")
    assert proofs.verify(tampered, offline_key).reason.startswith("signature does not match")


@pytest.fixture(scope="module")
def credentials_v1_context():
    # didkit 0.3.3 only issues VC 1.1 credentials; the v1 context comes from pyld's bundled copy.
    path = Path(pyld.__file__).parent / "documentloader" / "frozen" / "bundled" / "credentials-v1.jsonld"
    data = path.read_bytes()
    contexts.register("https://www.w3.org/2018/credentials/v1", data, hashlib.sha256(data).hexdigest())


def test_didkit_and_the_native_verifier_agree_on_a_didkit_issued_ed25519signature2020(credentials_v1_context):
    jwk = didkit.generate_ed25519_key()
    issuer = didkit.key_to_did("key", jwk)
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential"],
        "issuer": issuer,
        "issuanceDate": "2024-01-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:learner"},
    }

    async def issue_and_check(tampered_subject: str) -> tuple[dict, dict, dict]:
        vm = await didkit.key_to_verification_method("key", jwk)
        options = {"type": "Ed25519Signature2020", "proofPurpose": "assertionMethod", "verificationMethod": vm}
        issued = json.loads(await didkit.issue_credential(json.dumps(credential), json.dumps(options), jwk))
        tampered = replaced(issued, ("credentialSubject", "id"), tampered_subject)
        purpose = json.dumps({"proofPurpose": "assertionMethod"})
        good = json.loads(await didkit.verify_credential(json.dumps(issued), purpose))
        bad = json.loads(await didkit.verify_credential(json.dumps(tampered), purpose))
        return issued, good, bad

    issued, didkit_good, didkit_bad = asyncio.run(issue_and_check("did:example:someone-else"))
    assert issued["proof"]["type"] == "Ed25519Signature2020"
    assert didkit_good["errors"] == []
    assert proofs.verify(issued, offline_key).ok
    assert didkit_bad["errors"] != []
    tampered = replaced(issued, ("credentialSubject", "id"), "did:example:someone-else")
    assert proofs.verify(tampered, offline_key).reason.startswith("signature does not match")


# --- 1EdTech fixtures --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["simple.json", "simple-did-key-method.json", "endorsement-valid.json"])
def test_1edtech_valid_fixtures_verify(standards, name):
    check = proofs.verify(fixture(standards, name), offline_key)
    assert check.ok, check.reason
    assert check.warnings == []


def test_1edtech_bad_proof_value_fails_for_its_signature(standards):
    check = proofs.verify(fixture(standards, "simple-err-proof-value.json"), offline_key)
    assert not check.ok
    assert check.reason == (
        "signature does not match the document and proof options for verification method "
        "https://example.com/issuers/876543#z6MkrvfzkMnvCroEUP2DVc9SHPE48CRsvHiVSusHioxTYu1x"
    )


# --- proof sets and chains ---------------------------------------------------------------------


@pytest.mark.parametrize("name,count", [("signedProofSet2.json", 2), ("signedProofChain2.json", 4)])
def test_w3c_proof_sets_and_chains_verify(vectors, name, count):
    check = proofs.verify(load(vectors / "proof-set-chain" / name), offline_key)
    assert check.ok, check.reason
    assert check.reason == f"all {count} proofs verified"


def test_a_chained_proof_whose_previous_proof_is_gone_fails(vectors):
    signed = load(vectors / "proof-set-chain" / "signedProofChain2.json")
    signed["proof"] = [p for p in signed["proof"] if p.get("id") != "urn:uuid:d94f792a-c546-4d06-b38a-da070ab56c23"]
    check = proofs.verify(signed, offline_key)
    assert not check.ok
    assert check.reason == (
        "proof 3 of 3: previousProof urn:uuid:d94f792a-c546-4d06-b38a-da070ab56c23 is not among the document's proofs"
    )


def test_sign_adds_a_second_proof_and_refuses_a_second_by_the_same_method(standards):
    unsigned = {k: v for k, v in fixture(standards, "simple.json").items() if k != "proof"}
    issuer, endorser = SeedSigner(bytes(range(32))), SeedSigner(bytes(range(1, 33)))
    once = proofs.sign(unsigned, issuer)
    assert proofs.verify(once, offline_key) == proofs.ProofCheck(
        True, f"eddsa-rdfc-2022 proof by {issuer.verification_method} verified",
        issuer.verification_method, once["proof"][0]["created"], "eddsa-rdfc-2022", [],
    )
    twice = proofs.sign(once, endorser)
    assert [p["verificationMethod"] for p in twice["proof"]] == [issuer.verification_method, endorser.verification_method]
    assert proofs.verify(twice, offline_key).reason == "all 2 proofs verified"
    with pytest.raises(ProofError, match=f"document already has a proof by {issuer.verification_method}"):
        proofs.sign(twice, issuer)


def test_signing_a_document_with_a_single_proof_object_makes_a_proof_list(standards):
    unsigned = {k: v for k, v in fixture(standards, "simple.json").items() if k != "proof"}
    issuer, endorser = SeedSigner(bytes([3]) * 32), SeedSigner(bytes([9]) * 32)
    signed = proofs.sign(unsigned, issuer)
    signed["proof"] = signed["proof"][0]  # as other issuers publish it
    endorsed = proofs.sign(signed, endorser)
    assert endorsed["proof"][0] == signed["proof"] and len(endorsed["proof"]) == 2
    check = proofs.verify(endorsed, offline_key)
    assert (check.ok, check.reason, check.warnings) == (True, "all 2 proofs verified", [])
    with pytest.raises(ProofError, match=f"already has a proof by {issuer.verification_method}"):
        proofs.sign(signed, issuer)


def test_one_bad_proof_in_a_list_fails_the_document(standards):
    unsigned = {k: v for k, v in fixture(standards, "simple.json").items() if k != "proof"}
    signed = proofs.sign(proofs.sign(unsigned, SeedSigner(bytes(32))), SeedSigner(bytes([7]) * 32))
    signed["proof"][1]["proofValue"] = signed["proof"][0]["proofValue"]
    check = proofs.verify(signed, offline_key)
    assert not check.ok and check.reason.startswith("proof 2 of 2: signature does not match")


# --- refusals ------------------------------------------------------------------------------------


def test_sign_refuses_created_without_seconds_precision_in_utc(standards):
    unsigned = {k: v for k, v in fixture(standards, "simple.json").items() if k != "proof"}
    for created in ["2024-01-01T00:00:00.123Z", "2024-01-01T00:00:00+01:00", "2024-01-01", "2024-01-01T00:00:00Z\n"]:
        with pytest.raises(ProofError, match="must be an XML Schema dateTime in UTC"):
            proofs.sign(unsigned, SeedSigner(bytes(32)), created=created)


def test_sign_refuses_a_document_without_the_vc_2_context():
    with pytest.raises(ProofError, match="must be a list that includes https://www.w3.org/ns/credentials/v2"):
        proofs.sign({"@context": "https://www.w3.org/ns/credentials/v2", "type": "VerifiableCredential"}, SeedSigner(bytes(32)))


def test_sign_refuses_a_document_with_undefined_terms(standards):
    unsigned = {k: v for k, v in fixture(standards, "simple.json").items() if k != "proof"}
    unsigned["credentialSubject"]["achievement"]["notAnObTerm"] = "would not be signed"
    with pytest.raises(UndefinedTermError):
        proofs.sign(unsigned, SeedSigner(bytes(32)))


@pytest.mark.parametrize(
    "change,reason",
    [
        ({"type": "Ed25519Signature2018"}, "no proof of a supported type (found Ed25519Signature2018;"),
        ({"cryptosuite": "eddsa-jcs-2022"}, "no proof of a supported type (found DataIntegrityProof/eddsa-jcs-2022;"),
        ({"cryptosuite": "ecdsa-rdfc-2019"}, "no proof of a supported type (found DataIntegrityProof/ecdsa-rdfc-2019;"),
        ({"proofPurpose": "authentication"}, "proofPurpose is 'authentication', expected 'assertionMethod'"),
        ({"created": "yesterday"}, "created 'yesterday' is not an XML Schema dateTime"),
        ({"verificationMethod": "https://example.com/issuers/876543#key-1"},
         "verification method https://example.com/issuers/876543#key-1 could not be resolved"),
        ({"proofValue": "u" + "A" * 86}, "proofValue must be a base58btc multibase string starting with 'z'"),
        ({"proofValue": "z0OIl"}, "proofValue contains characters outside the base58btc alphabet"),
        ({"proofValue": "z" + base58.b58encode(bytes(32)).decode()}, "proofValue holds 32 bytes, an Ed25519 signature is 64"),
    ],
)
def test_verify_reasons(standards, change, reason):
    signed = fixture(standards, "simple.json")
    signed["proof"][0].update(change)
    check = proofs.verify(signed, offline_key)
    assert not check.ok
    assert check.reason.startswith(reason), check.reason


def test_verify_reasons_for_missing_and_empty_proofs(standards):
    signed = fixture(standards, "simple.json")
    assert proofs.verify({**signed, "proof": []}, offline_key).reason == "proof is an empty list"
    assert proofs.verify({k: v for k, v in signed.items() if k != "proof"}, offline_key).reason == "document has no proof"
    assert proofs.verify({**signed, "proof": "z41Zs"}, offline_key).reason == "proof must be an object or a list, got str"
    wrong_key = proofs.verify(signed, lambda vm: bytes(31))
    assert wrong_key.reason.endswith("is not a 32-byte Ed25519 public key")


@pytest.mark.parametrize("previous", [{}, [{}], 5, {"id": "x"}])
def test_a_malformed_previous_proof_is_a_reason_not_a_crash(standards, previous):
    document = json.loads((standards / "fixtures" / "1edtech" / "simple.json").read_text())
    proof = {**document["proof"][0], "previousProof": previous}
    document["proof"] = [proof, {"type": "DataIntegrityProof", "id": {}}]
    check = proofs.verify(document, lambda vm: None)
    assert not check.ok
    assert "previousProof" in check.reason


def test_unknown_proof_types_beside_a_verifying_one_are_ignored_and_said(standards):
    signed = fixture(standards, "simple.json")
    unknown = {"type": "DataIntegrityProof", "cryptosuite": "ecdsa-rdfc-2019", "proofValue": "zNotChecked",
               "verificationMethod": "did:example:other#key", "proofPurpose": "assertionMethod"}
    for proofs_in_order in ([*signed["proof"], unknown], [unknown, *signed["proof"]],
                            [*signed["proof"], {"type": "BbsBlsSignature2020"}]):
        check = proofs.verify({**signed, "proof": proofs_in_order}, offline_key)
        assert check.ok, check.reason
        assert any("ignored 1 proof(s)" in w for w in check.warnings)
    # A supported proof that fails still invalidates the set.
    broken = {**signed["proof"][0], "proofValue": signed["proof"][0]["proofValue"][:-2] + "11"}
    assert not proofs.verify({**signed, "proof": [*signed["proof"], broken, unknown]}, offline_key).ok


def test_the_draft_name_eddsa_2022_verifies_with_a_note(standards):
    unsigned = {k: v for k, v in fixture(standards, "simple.json").items() if k != "proof"}
    signer = SeedSigner(bytes(range(32)), "")
    public = multikey.encode_public_key(signer.public_key)
    vm = f"did:key:{public}#{public}"
    config = {**proofs.proof_configuration(unsigned, verification_method=vm, created="2023-06-01T00:00:00Z"),
              "cryptosuite": "eddsa-2022"}
    value = "z" + base58.b58encode(signer.sign(proofs.hash_data(config, unsigned))).decode()
    proof = {k: v for k, v in config.items() if k != "@context"} | {"proofValue": value}
    check = proofs.verify({**unsigned, "proof": [proof]}, offline_key)
    assert check.ok and check.cryptosuite == "eddsa-2022"
    assert any("draft name" in w for w in check.warnings)
    tampered = {**unsigned, "name": "Another degree", "proof": [proof]}
    assert not proofs.verify(tampered, offline_key).ok


def test_a_signed_document_with_an_undefined_term_is_refused(standards):
    signed = fixture(standards, "simple.json")
    signed["credentialSubject"]["notAnObTerm"] = "dropped by JSON-LD, so not signed"
    check = proofs.verify(signed, offline_key)
    assert not check.ok and "notAnObTerm" in check.reason and "no proof covers them" in check.reason


def test_a_key_that_cannot_be_had_now_is_indeterminate_not_invalid(standards):
    def unavailable(vm):
        raise proofs.KeyUnavailable(f"the DID document of {vm} could not be fetched")

    check = proofs.verify(fixture(standards, "simple.json"), unavailable)
    assert not check.ok and check.indeterminate and "could not be fetched" in check.reason

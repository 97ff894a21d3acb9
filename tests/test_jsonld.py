"""Canonical N-Quads through the fast path must equal pyld's normalize, byte for byte."""

from __future__ import annotations

import copy
import json
import threading
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyld import jsonld as pyld_jsonld

from registry.vc import contexts
from registry.vc.errors import DocumentError, UndefinedTermError, UnknownContextError
from registry.vc.jsonld import assert_terms_defined, canonical_nquads, fast_dataset, undefined_terms
from registry.vc.jsonld_context import Unsupported

VC, OB, EXT, STATUS = contexts.VC_V2, contexts.OB_V3P0, contexts.OB_V3P0_EXTENSIONS, contexts.STATUS_V1
EXAMPLES = "https://www.w3.org/ns/credentials/examples/v2"
EXAMPLES_SHA256 = "57393fbc69d6efb9b9b5dc9cb6b9880b0944360abfe2eaf459c9e58cf2279d7c"  # standards README


@pytest.fixture(scope="module", autouse=True)
def examples_context(standards):
    contexts.register(EXAMPLES, (standards / "contexts" / "credentials-examples-v2.jsonld").read_bytes(), EXAMPLES_SHA256)


def pyld_nquads(document: dict) -> str:
    """The oracle: plain pyld over the pinned contexts."""
    return pyld_jsonld.normalize(
        copy.deepcopy(document),
        {"algorithm": "URDNA2015", "format": "application/n-quads", "documentLoader": contexts.document_loader},
    )


def assert_fast_and_exact(document: dict, label: str = "") -> None:
    fast_dataset(document)  # raises Unsupported if this would silently take the reference path
    assert canonical_nquads(document) == pyld_nquads(document), label


def without_proof(document: dict) -> dict:
    return {k: v for k, v in document.items() if k != "proof"}


def standard_documents(standards: Path) -> list[Path]:
    paths = sorted((standards / "fixtures" / "1edtech").glob("*.json"))
    # Another issuer's credentials and status lists, on VC 1.1 and 2.0 (DID documents use contexts
    # that are not pinned: they are read as JSON, never canonicalized).
    paths += sorted(p for p in (standards / "fixtures" / "dcc").glob("*.json") if not p.name.startswith("did-"))
    paths += sorted((standards / "vectors").rglob("*.json"))
    return [p for p in paths if "@context" in json.loads(p.read_text())]


def test_every_standard_document_with_and_without_proof(standards):
    documents = standard_documents(standards)
    assert len(documents) >= 20
    for path in documents:
        document = json.loads(path.read_text())
        assert_fast_and_exact(document, path.name)
        assert_fast_and_exact(without_proof(document), f"{path.name} without proof")


def test_w3c_eddsa_rdfc_2022_canonical_document(standards):
    suite = standards / "vectors" / "w3c-vc-di-eddsa"
    unsigned = json.loads((suite / "unsigned.json").read_text())
    assert canonical_nquads(unsigned) == (suite / "eddsa-rdfc-2022" / "canonDocDataInt.txt").read_text()


def fixture(standards, name):
    return json.loads((standards / "fixtures" / "1edtech" / name).read_text())


def proof(vm: str, created: str = "2024-01-01T00:00:00Z") -> dict:
    return {
        "type": "DataIntegrityProof",
        "created": created,
        "verificationMethod": vm,
        "cryptosuite": "eddsa-rdfc-2022",
        "proofPurpose": "assertionMethod",
        "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a22gkfUKKFgjBkGnjhCoHCcCh",
    }


def endorsement(n: int) -> dict:
    return {
        "@context": [VC, OB, EXT],
        "id": f"urn:uuid:0000000{n}-aaaa-4bbb-8ccc-dddddddddddd",
        "type": ["VerifiableCredential", "EndorsementCredential"],
        "issuer": {"id": f"https://endorser{n}.example/", "type": "Profile", "name": f"Endorser {n}"},
        "validFrom": "2024-01-01T00:00:00Z",
        "name": "Endorsement",
        "credentialSubject": {"id": "https://example.com/achievements/1", "type": "EndorsementSubject",
                              "endorsementComment": "Rigorous \"criteria\".\nRecommended."},
        "credentialSchema": [{"id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_endorsementcredential_schema.json",
                              "type": "1EdTechJsonSchemaValidator2019"}],
        "proof": [proof(f"https://endorser{n}.example/#key-1")],
    }


def large_credential() -> dict:
    """Achievement with criteria, alignment, result descriptions (an @list), results, evidence,
    status, identity objects, embedded endorsements carrying their own proofs."""
    return {
        "@context": [VC, OB, EXT, STATUS],
        "id": "urn:uuid:7c8a1a2e-2f4e-4b5c-9d61-0a1b2c3d4e5f",
        "type": ["VerifiableCredential", "AchievementCredential"],
        "issuer": {"id": "https://issuer.example/", "type": ["Profile"], "name": "Ünïversität Zürich — 大学",
                   "url": "https://issuer.example/home", "email": "info@issuer.example",
                   "address": {"type": ["Address"], "addressCountry": "CH", "postalCode": "8001",
                               "geo": {"type": "GeoCoordinates", "latitude": 47.37, "longitude": 8.54}},
                   "otherIdentifier": [{"type": "IdentifierEntry", "identifier": "CHE-1", "identifierType": "taxId"}]},
        "validFrom": "2024-01-01T00:00:00Z",
        "validUntil": "2034-01-01T00:00:00Z",
        "awardedDate": "2024-01-01T00:00:00Z",
        "name": "Data Science \"Gold\"\tbadge\n(line two) \\ backslash",
        "description": {"@value": "Beschreibung", "@language": "DE"},
        "image": {"id": "https://issuer.example/badge.png", "type": "Image", "caption": "A badge"},
        "credentialSubject": {
            "id": "did:example:learner",
            "type": ["AchievementSubject"],
            "activityStartDate": "2023-09-01",
            "creditsEarned": 12.5,
            "licenseNumber": "L-1",
            "role": "student",
            "term": "Fall",
            "identifier": [
                {"type": "IdentityObject", "identityHash": "sha256$abc", "identityType": "emailAddress",
                 "hashed": True, "salt": "pepper"},
                {"type": "IdentityObject", "identityHash": "learner@example.org", "identityType": "email",
                 "hashed": False},
            ],
            "result": [
                {"type": ["Result"], "resultDescription": "urn:uuid:result-1", "value": "95", "status": "Completed"},
                {"type": ["Result"], "achievedLevel": "urn:uuid:level-a", "value": 3},
            ],
            "achievement": {
                "id": "https://issuer.example/achievements/ds",
                "type": ["Achievement"],
                "achievementType": "Certificate",
                "name": "Data Science",
                "description": "Hands-on data science.",
                "creditsAvailable": 12,
                "humanCode": "DS-101",
                "fieldOfStudy": "Statistics",
                "inLanguage": "en",
                "version": "1.0",
                "tag": ["data", "science", "data"],
                "criteria": {"id": "https://issuer.example/criteria/ds", "narrative": "# Criteria\n* pass the *exam*"},
                "alignment": [
                    {"type": ["Alignment"], "targetName": "CCSS.1", "targetUrl": "https://ccss.example/1",
                     "targetType": "CFItem", "targetCode": "1", "targetFramework": "CCSS"},
                    {"type": "Alignment", "targetName": "ESCO", "targetUrl": "https://esco.example/2"},
                ],
                "resultDescription": [
                    {"id": "urn:uuid:result-1", "type": ["ResultDescription"], "name": "Score",
                     "resultType": "Percent", "valueMin": "0", "valueMax": "100",
                     "allowedValue": ["A", "B", "C", "A"], "requiredValue": "B"},
                    {"id": "urn:uuid:result-2", "type": "ResultDescription", "name": "Level", "resultType": "RubricCriterionLevel",
                     "rubricCriterionLevel": [{"id": "urn:uuid:level-a", "type": "RubricCriterionLevel", "name": "A",
                                               "level": "1", "points": "10"}]},
                ],
                "related": [{"id": "https://issuer.example/achievements/ds-fr", "type": "Related", "inLanguage": "fr", "version": "1"}],
                "creator": {"id": "https://issuer.example/", "type": "Profile", "name": "Ünïversität Zürich — 大学"},
                "endorsement": [endorsement(1)],
            },
        },
        "evidence": [{"id": "https://issuer.example/evidence/1", "type": ["Evidence"], "name": "Project",
                      "narrative": "Built a model.", "genre": "Project", "audience": "Public"}],
        "credentialStatus": {"id": "https://issuer.example/status/1#94567", "type": "BitstringStatusListEntry",
                             "statusPurpose": "revocation", "statusListIndex": "94567",
                             "statusListCredential": "https://issuer.example/status/1"},
        "credentialSchema": [{"id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json",
                              "type": "1EdTechJsonSchemaValidator2019"}],
        "endorsement": [endorsement(2), endorsement(3)],
        "proof": [proof("https://issuer.example/#key-1"), proof("https://issuer.example/#key-2", "2024-02-02T00:00:00Z")],
    }


def test_large_credential_with_embedded_endorsements_and_proofs():
    document = large_credential()
    assert_fast_and_exact(document)
    assert_fast_and_exact(without_proof(document))
    assert undefined_terms(document) == []
    nquads = canonical_nquads(document)
    # OB 3.0 coerces with https://www.w3.org/2001/XMLSchema# (sic); doubles keep their canonical form
    assert '"true"^^<https://www.w3.org/2001/XMLSchema#boolean>' in nquads
    assert '"1.25E1"^^<https://www.w3.org/2001/XMLSchema#float>' in nquads
    assert "<http://www.w3.org/1999/02/22-rdf-syntax-ns#first>" in nquads  # allowedValue is an @list
    assert "@de ." in nquads


HAND_BUILT = {
    "numbers and booleans": {"credentialSubject": {"id": "did:example:1", "type": "AchievementSubject",
                                                   "creditsEarned": 3, "result": [{"type": "Result", "value": 1.0},
                                                                                  {"type": "Result", "value": 2.5},
                                                                                  {"type": "Result", "value": 10**21},
                                                                                  {"type": "Result", "value": -0.000001},
                                                                                  {"type": "Result", "value": True}]}},
    "value objects": {"name": [{"@value": "Name", "@language": "en-GB"}, {"@value": "Nom", "@language": "fr"}],
                      "description": {"@value": "7", "@type": "http://www.w3.org/2001/XMLSchema#integer"}},
    "relative and blank ids": {"id": "credentials/relative", "issuer": {"id": "_:issuer", "type": "Profile",
                                                                        "parentOrg": {"id": "_:issuer"}},
                               "credentialSubject": {"id": "_:s", "type": "AchievementSubject", "source": "../src"}},
    "language map from an inline context": {
        "@context": [VC, OB, {"nameMap": {"@id": "https://schema.org/name", "@container": "@language"}}],
        "nameMap": {"en": "Teamwork", "de": ["Teamarbeit", "Zusammenarbeit"], "@none": "TW"}},
    "inline context with @vocab": {"@context": [VC, OB, {"@vocab": "https://example.org/vocab#"}],
                                   "extra": {"nested": "value"}},
    "json literal": {"credentialSchema": {"id": "https://example.org/schema", "type": "JsonSchema",
                                          "jsonSchema": {"b": [1, 2.5, None, True], "a": "é\n\"q\""}}},
    "embedded context in a nested node": {"credentialSubject": {"@context": {"nick": "https://example.org/nick"},
                                                                "id": "did:example:2", "nick": "N"}},
    "status context terms": {"@context": [VC, OB, STATUS], "credentialStatus": {
        "id": "https://example.org/status#1", "type": "BitstringStatusListEntry", "statusPurpose": "message",
        "statusListIndex": "1", "statusSize": 2, "statusListCredential": "https://example.org/status",
        "statusMessage": [{"status": "0x0", "message": "ok"}, {"status": "0x1", "message": "revoked"}]}},
    "duplicate values and nodes": {"issuer": {"id": "https://example.org/i", "type": ["Profile", "Profile"],
                                              "name": ["A", "A"]},
                                   "credentialSubject": [{"id": "https://example.org/i", "name": "A"},
                                                         {"id": "https://example.org/i", "name": "B"}]},
    "proof purpose coerced by @vocab": {"proof": {"type": "DataIntegrityProof", "proofPurpose": "authentication",
                                                  "previousProof": ["urn:uuid:1", "urn:uuid:2"]}},
    "type-scoped terms do not propagate into nested nodes": {"credentialSubject": {
        "id": "did:example:4", "type": "AchievementSubject", "role": "kept",
        "achievement": {"type": "Achievement", "role": "dropped", "result": [{"type": "Result", "value": "x"}],
                        "criteria": {"narrative": "kept", "humanCode": "dropped"}}}},
    "empty arrays and nulls": {"name": [], "description": None, "credentialSubject": {"id": "did:example:3",
                                                                                     "type": "AchievementSubject",
                                                                                     "achievement": None}},
}


@pytest.mark.parametrize("label", sorted(HAND_BUILT))
def test_hand_built_constructs(standards, label):
    document = {"@context": [VC, OB], "type": ["VerifiableCredential", "OpenBadgeCredential"],
                "issuer": "https://example.org/issuer", **HAND_BUILT[label]}
    assert_fast_and_exact(document)


OUTSIDE_SUBSET = {
    "@reverse": {"@reverse": {"https://example.org/knows": {"id": "https://example.org/b"}}},
    "@included": {"@context": [VC, {"@version": 1.1}], "@included": [{"id": "https://example.org/x", "name": "X"}]},
    "@index container": {"@context": [VC, {"byKey": {"@id": "https://example.org/by", "@container": "@index"}}],
                         "byKey": {"k": {"name": "v"}}},
    "@nest": {"@context": [VC, {"wrap": "@nest"}], "wrap": {"name": "nested"}},
    "@graph keyword": {"@graph": [{"id": "https://example.org/g", "name": "G"}]},
    "@direction": {"name": {"@value": "שלום", "@language": "he", "@direction": "rtl"}},
}


@pytest.mark.parametrize("label", sorted(OUTSIDE_SUBSET))
def test_constructs_outside_the_subset_fall_back_to_pyld(label):
    document = {"@context": [VC], "id": "https://example.org/doc", **OUTSIDE_SUBSET[label]}
    with pytest.raises(Unsupported):
        fast_dataset(document)
    assert canonical_nquads(document) == pyld_nquads(document)


def test_unknown_context_is_refused_never_fetched():
    with pytest.raises(UnknownContextError, match="unknown JSON-LD context 'https://example.org/ctx'"):
        canonical_nquads({"@context": [VC, "https://example.org/ctx"], "name": "x"})
    nested = {"@context": [VC], "type": "VerifiableCredential", "credentialSubject": {"@context": "https://example.org/nested", "id": "did:example:1"}}
    with pytest.raises(UnknownContextError, match="https://example.org/nested"):
        canonical_nquads(nested)
    with pytest.raises(DocumentError, match="no @context"):
        canonical_nquads({"name": "x"})


def test_undefined_terms_are_reported_by_path(standards):
    document = without_proof(fixture(standards, "simple.json"))
    document["foo"] = 1
    document["credentialSubject"]["foo"] = {"bar": 2}
    document["credentialSubject"]["achievement"]["notAnObTerm"] = "x"
    document["credentialSubject"]["achievement"]["role"] = "AchievementSubject's term, not Achievement's"
    assert undefined_terms(document) == [
        "credentialSubject.achievement.notAnObTerm", "credentialSubject.achievement.role", "credentialSubject.foo", "foo"]
    with pytest.raises(UndefinedTermError, match="credentialSubject.foo"):
        assert_terms_defined(document)


def test_terms_caught_only_by_the_issuer_dependent_vocab_are_reported(standards):
    # A context that sets @vocab on purpose defines its terms (the W3C examples context) ...
    unsigned = json.loads((standards / "vectors" / "w3c-vc-di-eddsa" / "unsigned.json").read_text())
    assert undefined_terms(unsigned) == []
    # ... but VC 2.0's issuer-dependent catch-all (carried by later copies of its context) does not.
    catch_all = {"@vocab": "https://www.w3.org/ns/credentials/issuer-dependent#"}
    listed = {"@context": [VC, OB, catch_all], "endorsement": [{"type": "Profile", "x": 1}]}
    assert undefined_terms(listed) == ["endorsement[0].x"]
    outside = {"@context": [VC, {**catch_all, "wrap": "@nest"}], "wrap": {"y": 1}}
    assert undefined_terms(outside) == ["y"]  # reported through pyld, without a path


def test_no_undefined_terms_in_the_fixtures(standards):
    for path in sorted((standards / "fixtures" / "1edtech").glob("*.json")):
        assert undefined_terms(json.loads(path.read_text())) == [], path
        assert_terms_defined(json.loads(path.read_text()))


def test_concurrent_use_from_threads(standards):
    documents = [large_credential(), without_proof(fixture(standards, "simple.json")),
                 fixture(standards, "endorsement-valid.json")] + [
        {"@context": [VC, OB, {"n": f"https://example.org/n{i}"}], "n": i} for i in range(8)]
    expected = [pyld_nquads(d) for d in documents]
    failures: list[str] = []

    def work(offset: int) -> None:
        for round_ in range(20):
            i = (offset + round_) % len(documents)
            if canonical_nquads(documents[i]) != expected[i]:
                failures.append(f"document {i}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


# -- property test over generated OB-shaped documents -------------------------------------
# No control characters but \t \n \r: pyld writes the others raw where RDFC-1.0 escapes them
# (tests/test_canon.py checks that escaping against the W3C suite), and the registry refuses them in
# documents before canonicalizing.
text = st.text(st.characters(blacklist_categories=("Cs", "Cc")) | st.sampled_from("\t\n\r"), max_size=12)
scalar = st.one_of(text, st.integers(-10**22, 10**22), st.floats(allow_nan=False, allow_infinity=False),
                   st.booleans(), st.none())
iri = st.sampled_from(["https://example.org/a", "urn:uuid:1", "did:example:x", "relative/path", "_:b1", "#frag",
                       "http://example.org/a b"])


def node(types, props):
    return st.fixed_dictionaries(
        {"type": st.sampled_from(types)},
        optional={"id": iri, **{p: s for p, s in props.items()}, "undefinedTerm": scalar},
    )


alignment = node(["Alignment", ["Alignment"]], {"targetName": text, "targetUrl": st.one_of(iri, text), "targetCode": scalar})
result = node(["Result", ["Result"], "Unknown"], {"value": scalar, "achievedLevel": iri, "status": text})
result_description = node(["ResultDescription"], {"allowedValue": st.lists(scalar, max_size=3),
                                                  "valueMax": scalar, "name": text})
achievement = node(["Achievement", ["Achievement"]], {
    "name": st.one_of(text, st.fixed_dictionaries({"@value": text, "@language": st.sampled_from(["en", "DE", "fr-CA"])})),
    "criteria": st.fixed_dictionaries({}, optional={"narrative": text, "id": iri}),
    "alignment": st.lists(alignment, max_size=2),
    "resultDescription": st.lists(result_description, max_size=2),
    "creditsAvailable": st.one_of(st.integers(0, 300), st.floats(0, 300)),
    "tag": st.lists(text, max_size=3),
    "role": text,  # an AchievementSubject term: must not leak into the nested Achievement
})
identity = node(["IdentityObject"], {"hashed": st.booleans(), "identityHash": text, "identityType": text})
subject = node(["AchievementSubject", ["AchievementSubject"]], {
    "achievement": achievement, "result": st.lists(result, max_size=2), "identifier": st.lists(identity, max_size=2),
    "creditsEarned": scalar, "activityEndDate": text,
})
ob_document = st.fixed_dictionaries(
    {"@context": st.sampled_from([[VC, OB], [VC, OB, EXT], [VC, OB, EXT, STATUS]]),
     "type": st.sampled_from([["VerifiableCredential", "OpenBadgeCredential"], ["VerifiableCredential", "Other"]]),
     "credentialSubject": subject},
    optional={"id": iri, "name": text, "issuer": st.one_of(iri, node(["Profile"], {"name": text, "url": iri})),
              "validFrom": text, "proof": st.lists(st.just(proof("https://example.org/#k")), max_size=2),
              "evidence": st.lists(node(["Evidence"], {"narrative": text, "genre": text}), max_size=2)},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ob_document)
def test_generated_ob_documents_match_pyld(document):
    assert canonical_nquads(document) == pyld_nquads(document)

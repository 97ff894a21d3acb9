"""What real OB 3.0 issuers put in credentials, issued through HTTP (the CLI takes the same fields):
validFrom in the past or ahead (bounded), subjects identified by URL, evidence objects, several
results, extra credentialSchema entries. Each credential the registry signs passes the 1EdTech
schema and the registry's own verification; what would not, is refused before signing."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from test_api_support import api, api_factory, assert_problem  # noqa: F401

from registry.vc import schema


@pytest.fixture
def store_kind() -> str:
    """These rules do not depend on the store: SQLite, except the tests marked BOTH_STORES."""
    return "sqlite"


BOTH_STORES = pytest.mark.parametrize("store_kind", ["sqlite", "postgres"])


@pytest.fixture
def acme(api):
    key = api.register("acme")
    badge = api.ok("/achievements", {"definition": {"name": "Welding", "description": "Welds.",
                                                    "criteria": {"narrative": "Passed."}}}, key, status=201)["id"]
    return key, badge


def issued(api, key, badge, **fields) -> dict:
    return api.ok("/credentials", {"recipient": "ada@example.org", "achievement": badge, **fields}, key, status=201)["document"]


def test_a_rich_credential_is_signed_valid_and_schema_conformant(api, acme):
    key, badge = acme
    document = issued(
        api, key, badge, recipient="https://learners.example/ada", valid_from="2019-09-01T00:00:00Z",
        valid_until="2031-09-01T00:00:00Z",
        evidence=[{"narrative": "Welded a T-joint under supervision.", "name": "Practical exam", "genre": "Assessment",
                   "id": "https://evidence.example/ada/t-joint"}],
        results=[{"type": ["Result"], "value": "A", "status": "Completed"}],
        credential_schema=[{"id": "https://schemas.example/welding.json", "type": "1EdTechJsonSchemaValidator2019"}],
        result="92%")
    assert document["validFrom"] == "2019-09-01T00:00:00Z"
    assert document["credentialSubject"]["id"] == "https://learners.example/ada"
    assert [r.get("value") for r in document["credentialSubject"]["result"]] == ["92%", "A"]
    assert document["evidence"][0] == {"type": ["Evidence"], "narrative": "Welded a T-joint under supervision.",
                                       "name": "Practical exam", "genre": "Assessment",
                                       "id": "https://evidence.example/ada/t-joint"}
    assert [s["id"] for s in document["credentialSchema"]][1:] == ["https://schemas.example/welding.json"]
    assert schema.check(document).ok
    report = api.client.post("/verify", json=document).json()
    assert report["verdict"] == "VALID", report


def test_a_credential_valid_from_ahead_is_not_yet_valid(api, acme):
    key, badge = acme
    ahead = (datetime.now(timezone.utc) + timedelta(days=30)).replace(microsecond=0)
    document = issued(api, key, badge, valid_from=ahead.isoformat())
    report = api.client.post("/verify", json=document).json()
    failed = [c["name"] for c in report["checks"] if c["outcome"] == "fail"]
    assert report["verdict"] == "INVALID" and failed == ["valid-from"], report["checks"]


@pytest.mark.parametrize("fields, status, words", [
    ({"valid_from": "1899-12-31T23:59:59Z"}, 422, "out of range"),
    ({"valid_from": (datetime.now(timezone.utc) + timedelta(days=400)).isoformat()}, 422, "out of range"),
    ({"valid_from": "2026-01-01T00:00:00"}, 422, "with a timezone"),  # no offset
    ({"valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"}, 422, "is not after validFrom"),
    ({"results": [{"type": ["Result"], "value": 5}]}, 422, "would not conform"),
    ({"results": [{"type": ["Result"], "value": "5", "colour": "red"}]}, 422, "colour"),
    ({"evidence": ["https://evidence.example/1"]}, 422, "Expected `object`"),
    ({"credential_schema": [{"id": "not a url", "type": "x"}]}, 422, "needs an http(s) URL id"),
    ({"recipient": "ftp://learners.example/ada"}, 422, "neither an e-mail address, a DID nor an http(s) URL"),
])
def test_what_the_registry_would_not_verify_it_does_not_sign(api, acme, fields, status, words):
    key, badge = acme
    before = api.registry.store.max_position()
    refused = api.post("/credentials", {"recipient": "ada@example.org", "achievement": badge, **fields}, key)
    problem = assert_problem(refused, status)
    if words:
        assert words in problem["detail"], problem
    assert api.registry.store.max_position() == before


@BOTH_STORES
def test_an_organisation_profile_carries_phone_address_and_other_identifiers(api):
    profile = {"phone": "+31 30 123 4567", "other_identifier": [{"identifier": "KvK-12345678", "identifierType": "identifier"}],
               "address": {"streetAddress": "Markt 1", "postalCode": "1234 AB", "addressLocality": "Rivierstad",
                           "addressCountry": "Nederland", "addressCountryCode": "NL"}}
    api.ok("/issuers", {"slug": "roc", "name": "ROC Rivierstad", **profile}, status=201)
    key = api.key_for("roc")
    shown = api.client.get("/issuers/roc").json()
    assert {k: shown[k] for k in profile} == profile
    badge = api.ok("/achievements", {"definition": {"name": "Welding", "description": "Welds.",
                                                    "criteria": {"narrative": "Passed."}}}, key, status=201)["id"]
    document = issued(api, key, badge)
    issuer = document["issuer"]
    assert issuer["phone"] == "+31 30 123 4567"
    assert issuer["address"] == {"type": ["Address"], **profile["address"]}
    assert issuer["otherIdentifier"] == [{"type": "IdentifierEntry", "identifier": "KvK-12345678",
                                          "identifierType": "identifier"}]
    assert schema.check(document).ok
    assert api.client.post("/verify", json=document).json()["verdict"] == "VALID"
    assert api.client.get("/issuers/roc/profile").json()["address"]["postalCode"] == "1234 AB"
    # Updated later: new documents say the new thing; fields left out stay.
    changed = api.client.patch("/issuers/roc", json={"phone": "+31 30 765 4321"}, headers=api.auth(api.admin))
    assert changed.status_code == 200, changed.text
    after = api.client.get("/issuers/roc").json()
    assert after["phone"] == "+31 30 765 4321" and after["address"] == profile["address"]


@pytest.mark.parametrize("fields, words", [
    ({"address": {"colour": "red"}}, "address.colour"),
    ({"other_identifier": [{"identifier": "1", "identifierType": "bogus"}]}, "identifierType"),
    ({"other_identifier": [{"identifier": "1"}]}, "identifierType"),
])
def test_a_profile_that_would_not_conform_is_refused(api, fields, words):
    refused = api.post("/issuers", {"slug": "roc", "name": "ROC", **fields})
    problem = assert_problem(refused, 422)
    assert words in problem["detail"], problem


def test_an_achievement_as_a_national_profile_defines_it(api):
    """creditsAvailable, fieldOfStudy, humanCode, otherIdentifier, related, a resultDescription with
    an id a result references, and the issuer's own version label: kept, signed, conformant, VALID."""
    key = api.register("roc")
    definition = {
        "name": "Lassen niveau 2", "description": "Last een T-verbinding.", "criteria": {"narrative": "Praktijkexamen."},
        "achievementType": "Certificate", "creditsAvailable": 7.5, "fieldOfStudy": "Metaalbewerking",
        "humanCode": "LAS-2", "version": "2024-1",
        "otherIdentifier": [{"type": "IdentifierEntry", "identifier": "crebo-25212", "identifierType": "identifier"}],
        "related": [{"id": "https://roc.example/lassen-1", "type": ["Related"], "version": "2023-1"}],
        "resultDescription": [{"id": "https://roc.example/lassen-2/cijfer", "type": ["ResultDescription"],
                               "name": "Cijfer", "resultType": "GradePointAverage"}]}
    made = api.ok("/achievements", {"definition": definition}, key, status=201)
    document = issued(api, key, made["id"], results=[
        {"type": ["Result"], "value": "8,2", "resultDescription": "https://roc.example/lassen-2/cijfer"}])
    achievement = document["credentialSubject"]["achievement"]
    for name in ("creditsAvailable", "fieldOfStudy", "humanCode", "otherIdentifier", "related", "version"):
        assert achievement[name] == definition[name], name
    assert achievement["resultDescription"][0]["id"] == "https://roc.example/lassen-2/cijfer"
    assert document["credentialSubject"]["result"][-1]["resultDescription"] == "https://roc.example/lassen-2/cijfer"
    assert schema.check(document).ok
    assert api.client.post("/verify", json=document).json()["verdict"] == "VALID"

"""1EdTech JSON Schema conformance: published fixtures, single values where arrays are expected
(a warning), and real violations (errors with their JSON path)."""

import copy
import json

import pytest

from registry.vc import schema
from registry.vc.errors import DocumentError


def _fixture(standards, name: str) -> dict:
    return json.loads((standards / "fixtures" / "1edtech" / name).read_text())


@pytest.mark.parametrize(
    "name, schema_name",
    [("simple.json", schema.ACHIEVEMENT_CREDENTIAL),
     ("simple-did-key-method.json", schema.ACHIEVEMENT_CREDENTIAL),
     ("endorsement-valid.json", schema.ENDORSEMENT_CREDENTIAL)],
)
def test_published_fixtures_conform(standards, name, schema_name):
    result = schema.check(_fixture(standards, name))
    assert result == schema.SchemaCheck(True, schema_name, [], [])


def test_unknown_credential_type_is_not_ok_and_names_the_type(standards):
    result = schema.check(_fixture(standards, "simple-err-type.json"))
    assert not result.ok and result.schema is None
    assert "OtherCredential" in result.errors[0]


def test_single_proof_object_is_a_warning_only(standards):
    document = _fixture(standards, "simple.json")
    document["proof"] = document["proof"][0]
    original = copy.deepcopy(document)
    result = schema.check(document)
    assert result.ok and result.errors == []
    assert len(result.warnings) == 1 and result.warnings[0].startswith("$.proof: a single value")
    assert document == original  # the check reads a copy


def test_single_value_inside_a_one_of_alternative_is_a_warning(standards):
    document = _fixture(standards, "simple.json")
    document["issuer"]["type"] = "Profile"
    document["type"] = ["VerifiableCredential", "OpenBadgeCredential"]
    result = schema.check(document)
    assert result.ok, result
    assert [w.split(":")[0] for w in result.warnings] == ["$.issuer.type"]


def test_single_type_value_missing_verifiable_credential_is_still_an_error(standards):
    document = _fixture(standards, "simple.json")
    document["type"] = "OpenBadgeCredential"
    result = schema.check(document)
    assert not result.ok
    assert result.warnings[0].startswith("$.type:")
    assert result.errors == ["$.type: ['OpenBadgeCredential'] does not contain items matching the given schema"]


def test_violations_are_errors_with_their_json_path(standards):
    document = _fixture(standards, "simple.json")
    del document["credentialSubject"]["achievement"]["criteria"]
    document["validFrom"] = "2010-01-01"
    result = schema.check(document)
    assert not result.ok and result.warnings == []
    assert result.errors == [
        "$.credentialSubject.achievement: 'criteria' is a required property",
        "$.validFrom: '2010-01-01' is not a 'date-time'",
    ]


def test_wrong_kind_of_array_member_is_an_error_not_a_warning(standards):
    document = _fixture(standards, "endorsement-valid.json")
    document["credentialSubject"]["type"] = ["EndorsementSubject", 7]
    result = schema.check(document)
    assert not result.ok and result.warnings == []
    assert result.errors[0].startswith("$.credentialSubject.type[1]: 7 is not of type 'string'")


def test_not_an_object_is_not_ok():
    assert schema.check(["VerifiableCredential"]) == schema.SchemaCheck(
        False, None, ["a credential is a JSON object, got list"], []
    )


def test_check_part_refuses_unknown_definitions():
    with pytest.raises(DocumentError, match="defines no 'Badge'"):
        schema.check_part({}, "Badge")


def _mutations(document: dict):
    """The document, and variants that break it in the ways real documents go wrong."""
    yield document
    for key in ("issuer", "validFrom", "credentialSubject", "type", "@context", "id"):
        if key in document:
            yield {k: v for k, v in document.items() if k != key}
    yield {**document, "validFrom": "2010-01-01"}  # a date, not a date-time
    yield {**document, "validFrom": "2010-01-01T00:00:00"}  # no offset
    yield {**document, "validUntil": 5}
    yield {**document, "type": "OpenBadgeCredential"}  # single value where an array is expected
    yield {**document, "issuer": "https://example.org/issuer"}
    yield {**document, "credentialSubject": {"type": ["AchievementSubject"]}}
    yield {**document, "proof": {"type": "DataIntegrityProof"}}


def test_the_compiled_validator_agrees_with_jsonschema(standards):
    # check() answers "conforms" from the compiled validator and explains failures with jsonschema;
    # the two must never disagree about whether a document conforms.
    from registry.vc.schema import _fast_validator, _validator, schema_for

    compared = 0
    for path in sorted((standards / "fixtures" / "1edtech").glob("*.json")):
        for variant in _mutations(json.loads(path.read_text())):
            name = schema_for(variant) or schema.ACHIEVEMENT_CREDENTIAL
            fast = _fast_validator(name).is_valid(variant)
            detailed = not any(True for _ in _validator(name).iter_errors(variant))
            assert fast == detailed, (path.name, variant)
            compared += 1
    assert compared > 60

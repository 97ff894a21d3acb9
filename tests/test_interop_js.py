"""Registry credentials verify in Digital Bazaar's JavaScript reference stack (@digitalbazaar/vc with
the eddsa-rdfc-2022 cryptosuite), run with Node. The JS packages are pinned in tests/interop/package.json;
`.ci/run` installs them. Without node or those packages the test is skipped locally and fails in CI."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from registry.commands import Actor, Award
from registry.vc import contexts

INTEROP = Path(__file__).parent / "interop"
OPERATOR = Actor("test")


def _node_ready() -> str | None:
    node = shutil.which("node")
    if node is None:
        return "node is not installed"
    if not (INTEROP / "node_modules" / "@digitalbazaar" / "vc").is_dir():
        return "run `npm install` in tests/interop"
    return None


@pytest.fixture(scope="module")
def node() -> None:
    problem = _node_ready()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"JavaScript interop cannot run in CI: {problem}")
        pytest.skip(problem)


def js_verify(documents: list[dict], documents_by_url: dict[str, dict]) -> list[dict]:
    run = subprocess.run(
        ["node", str(INTEROP / "verify.mjs")], input=json.dumps(
            {"documents": documents, "documentsByUrl": documents_by_url}),
        capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


# One store is enough: what is checked is the signed documents, which do not depend on it.
@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_registry_credentials_verify_in_the_javascript_reference_stack(node, registry):
    commands = registry.commands
    commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
    commands.issuers.register(slug="partner", name="Partner B.V.", actor=OPERATOR)
    achievement = commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Creative Thinking skills: Good", "description": "Generates new ideas.",
        "criteria": {"narrative": "Scored 71-84%."}}).id
    before = commands.credentials.issue(Award("learner@example.org", achievement, "80%"), actor=OPERATOR).document
    endorsement = commands.endorsements.endorse(by="partner", subject=achievement, comment="We hire on this.",
                                                actor=OPERATOR).document
    commands.issuers.rotate_key("acme", actor=OPERATOR)
    after = commands.credentials.issue(Award("did:example:learner", achievement, "75%"), actor=OPERATOR).document
    tampered = json.loads(json.dumps(after))
    tampered["credentialSubject"]["result"][0]["value"] = "99%"
    # A ladder (result levels by score band) and the pathway it completes, awarded automatically.
    ladder = commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
        "name": "Social skills", "description": "Communicates clearly.", "criteria": {"narrative": "Scored."},
        "resultDescription": [{"name": "Score", "resultType": "Percent", "valueMin": "0", "valueMax": "100",
                               "rubricCriterionLevel": [{"name": "Good", "points": "71"},
                                                        {"name": "Excellent", "points": "85"}]}]}).id
    commands.achievements.define(issuer="acme", actor=OPERATOR, automatic=True, requires=[f"{ladder}@Excellent"],
                                 definition={"name": "Super", "description": "S.", "criteria": {"narrative": "S."}})
    by_score = commands.credentials.issue(Award("learner@example.org", ladder, score="88"), actor=OPERATOR)
    automatic = json.loads(registry.queries.credential(by_score.also_awarded[0]).document)
    # What national profiles put in: a URL subject, validFrom in the past, evidence objects, more results.
    from datetime import datetime as moment
    rich = commands.credentials.issue(Award(
        "https://learners.example/ada", achievement, "80%", evidence=(
            {"id": "https://evidence.example/1", "narrative": "Presented a plan.", "name": "Presentation", "genre": "Assessment"},),
        valid_from=moment(2020, 9, 1, tzinfo=__import__("datetime").timezone.utc),
        results=({"type": ["Result"], "value": "A", "status": "Completed"},)), actor=OPERATOR).document
    # A partner's own endorsement, signed with a key file it holds (`registry endorsement sign`).
    from datetime import datetime, timezone

    from registry.vc.endorsing import load_key, new_key_file, sign_endorsement
    pem, partner_did = new_key_file()
    self_signed = sign_endorsement(load_key(pem), subject=registry.queries.issuer("acme").did, comment="Recommended.",
                                   endorser_name="Own Key B.V.", now=datetime.now(timezone.utc))

    # An organisation profile as national platforms carry it: phone, address, other identifiers.
    commands.issuers.register(slug="roc", name="ROC Rivierstad", phone="+31 30 123 4567", actor=OPERATOR,
                              address={"streetAddress": "Markt 1", "postalCode": "1234 AB", "addressCountry": "NL"},
                              other_identifier=[{"identifier": "KvK-12345678", "identifierType": "identifier"}])
    roc_badge = commands.achievements.define(issuer="roc", actor=OPERATOR, definition={
        "name": "Welding", "description": "Welds.", "criteria": {"narrative": "Passed."}}).id
    profiled = commands.credentials.issue(Award("did:example:welder", roc_badge), actor=OPERATOR).document

    by_url = {url: contexts.load(url) for url in contexts.PINNED}
    for slug in ("acme", "partner", "roc"):
        by_url[registry.queries.issuer(slug).did] = registry.queries.did_document(slug)
    from registry.vc.did import resolve_did_key_document
    by_url[partner_did] = resolve_did_key_document(partner_did)  # as a did:key driver would make it

    results = js_verify([before, endorsement, after, tampered, by_score.document, automatic, self_signed, rich,
                         profiled], by_url)
    assert [r["verified"] for r in results] == [True, True, True, False, True, True, True, True, True], results


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_credentials_using_a_registered_extension_context_verify_in_the_javascript_reference_stack(node, registry):
    # The national extension context written for the tests (tests/extension/README.md), supplied to
    # the verifier's document loader as the registry serves it (GET /contexts/{sha256}).
    from test_extension_contexts import DATA, URL, national_definition

    commands = registry.commands
    commands.issuers.register(slug="roc", name="ROC Rivierstad", actor=OPERATOR)
    commands.contexts.add(URL, DATA, actor=OPERATOR)
    badge = commands.achievements.define(issuer="roc", actor=OPERATOR, definition=national_definition()).id
    issued = commands.credentials.issue(Award("did:example:welder", badge, "8"), actor=OPERATOR).document
    tampered = json.loads(json.dumps(issued))
    tampered["credentialSubject"]["achievement"]["studyLoad"] = 840  # an extension term is signed too

    by_url = {url: contexts.load(url) for url in contexts.PINNED}
    by_url[URL] = json.loads(registry.queries.extension_context(URL).document)
    by_url[registry.queries.issuer("roc").did] = registry.queries.did_document("roc")
    results = js_verify([issued, tampered], by_url)
    assert [r["verified"] for r in results] == [True, False], results

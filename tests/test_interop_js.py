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

    by_url = {url: contexts.load(url) for url in contexts.PINNED}
    for slug in ("acme", "partner"):
        by_url[registry.queries.issuer(slug).did] = registry.queries.did_document(slug)

    results = js_verify([before, endorsement, after, tampered], by_url)
    assert [r["verified"] for r in results] == [True, True, True, False], results

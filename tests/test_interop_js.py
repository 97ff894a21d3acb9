"""Registry credentials verify in Digital Bazaar's JavaScript reference stack (@digitalbazaar/vc with
the eddsa-rdfc-2022 cryptosuite), run with Node. The JS packages are pinned in tests/interop/package.json;
`.ci/run` installs them. Without node or those packages the test is skipped locally and fails in CI."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from registry.application import Award, Config, Registry
from registry.keystore import Keystore
from registry.store.append_only import enforce_append_only
from registry.vc import contexts

INTEROP = Path(__file__).parent / "interop"


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


def test_registry_credentials_verify_in_the_javascript_reference_stack(node, tmp_path):
    app = Registry(config=Config(public_url="https://badges.test", keys_dir=tmp_path / "keys"),
                   keystore=Keystore(tmp_path / "keys"),
                   env={"PERSISTENCE_MODULE": "eventsourcing.sqlite",
                        "SQLITE_DBNAME": str(tmp_path / "registry.sqlite"),
                        "MAPPER_TOPIC": "registry.store.encoding:MsgspecMapper",
                        "TRANSCODER_TOPIC": "registry.store.encoding:PassThroughTranscoder"})
    enforce_append_only(app)
    app.register_issuer(slug="acme", name="Acme Academy", actor="test")
    app.register_issuer(slug="partner", name="Partner B.V.", actor="test")
    achievement = app.define_achievement(issuer="acme", actor="test", definition={
        "name": "Creative Thinking skills: Good", "description": "Generates new ideas.",
        "criteria": {"narrative": "Scored 71-84%."}}).id
    before = app.issue_credential(Award("learner@example.org", achievement, "80%"), actor="test").document
    endorsement = app.endorse(by="partner", subject=achievement, comment="We hire on this.", actor="test").document
    app.rotate_key("acme", actor="test")
    after = app.issue_credential(Award("did:example:learner", achievement, "75%"), actor="test").document
    tampered = json.loads(json.dumps(after))
    tampered["credentialSubject"]["result"][0]["value"] = "99%"

    by_url = {url: contexts.load(url) for url in contexts.PINNED}
    for slug in ("acme", "partner"):
        issuer = app.issuer(slug)
        by_url[issuer.did] = app.did_document(slug)

    results = js_verify([before, endorsement, after, tampered], by_url)
    assert [r["verified"] for r in results] == [True, True, True, False], results

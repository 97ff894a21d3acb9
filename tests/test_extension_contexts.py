"""JSON-LD extension contexts: the operator pins a national platform's context (`registry context add
URL FILE`, POST /contexts), achievements name it and use its terms, custom types, an `ext:`
achievementType and their own version label, and credentials awarding them conform to the 1EdTech
schema and verify, here, after a restart, and in a process that started before the context existed.

The context (tests/extension/nl-ob-ext-v1.jsonld) is written for these tests, not published: see
tests/extension/README.md."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import quote
from uuid import uuid4

import pytest

from registry.commands import Actor, Award
from registry.domain import NotAuthorised, NotFound
from registry.vc import contexts, openbadges, proofs, schema
from registry.vc.errors import DocumentError
from registry.vc.openbadges import xsd_datetime
import test_api_support
from test_cli import Partner
import test_cli
from test_api_support import assert_problem
from test_cli import head

# The shared fixtures this module uses (bound here, so pytest finds them in this module).
api, api_factory, cli = test_api_support.api, test_api_support.api_factory, test_cli.cli

OPERATOR = Actor("test")
NATIONAL = Path(__file__).parent / "extension" / "nl-ob-ext-v1.jsonld"
URL = "https://example.nl/ob-ext/v1"
DATA = NATIONAL.read_bytes()
SHA256 = hashlib.sha256(DATA).hexdigest()
LEARNER = "did:example:welder"


def national_definition(**changes) -> dict:
    """A micro-credential as a national platform describes it: study load, ECTS, how it was assessed
    and whether the learner's identity was checked, all terms of the extension context."""
    return {
        "@context": [URL], "type": ["Achievement", "NationalAchievement", "ext:MicroCredentialType"],
        "achievementType": "ext:MicroCredential", "version": "2025-2026",
        "name": "Welding (MIG/MAG)", "description": "Welds steel joints to NEN-EN-ISO 9606.",
        "criteria": {"narrative": "Passed the practical exam under supervision."},
        "studyLoad": 84, "studyLoadUnit": "hours", "ECTS": "3.0", "assessmentType": "practical exam",
        "identityChecked": True, "identityCheckMethod": "passport at the exam desk", **changes,
    }


def context_file(tmp_path: Path, name: str, document: object) -> Path:
    path = tmp_path / name
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    return path


@pytest.fixture
def roc(registry):
    registry.commands.issuers.register(slug="roc", name="ROC Rivierstad", actor=OPERATOR)
    registry.commands.contexts.add(URL, DATA, actor=OPERATOR)
    return registry


# --- registering ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_the_operator_registers_a_context_on_the_command_line(cli):
    added = cli.ok("context", "add", URL, NATIONAL, "--sha256", SHA256)
    assert added.out.split() == [URL, SHA256]
    again = cli.ok("--json", "context", "add", URL, NATIONAL)  # the same bytes: the registration that stands
    assert again.json() | {"position": None} == {"url": URL, "sha256": SHA256, "added": False, "position": None}
    listed = cli.ok("--json", "context", "list").json()
    assert [(c["url"], c["sha256"], c["registered_by"].startswith("cli")) for c in listed] == [(URL, SHA256, True)]
    assert cli.ok("context", "list").out.split("\t")[:2] == [URL, SHA256]


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_refused_contexts_name_the_reason_and_store_nothing(cli, tmp_path):
    cli.ok("context", "add", URL, NATIONAL)
    changed = context_file(tmp_path, "changed.jsonld", DATA.decode().replace('"nlobx:ects"', '"nlobx:ectsCredits"'))
    cli.refused("context", "add", URL, changed, match="is registered with sha256")
    cli.refused("context", "add", "https://example.nl/ob-ext/v2", NATIONAL, "--sha256", "0" * 64,
                match=f"SHA-256 is {SHA256}")
    cli.refused("context", "add", "http://example.nl/ob-ext/v2", NATIONAL, match="must be https://")
    cli.refused("context", "add", contexts.OB_V3P0, NATIONAL, match="one of the contexts the registry ships")
    cli.refused("context", "add", "https://example.nl/bad", context_file(tmp_path, "bad.json", '{"@context": {'),
                match="not JSON")
    cli.refused("context", "add", "https://example.nl/bad", context_file(tmp_path, "list.json", [1, 2]),
                match="a JSON object with an @context")
    # pyld's own reasons, in one line
    cli.refused("context", "add", "https://example.nl/bad", context_file(tmp_path, "container.json", {
        "@context": {"studyLoad": {"@id": "https://example.nl/studyLoad", "@container": "@bag"}}}),
        match="pyld) rejects the context: Invalid JSON-LD syntax; @context @container value must be one of")
    cli.refused("context", "add", "https://example.nl/bad", context_file(tmp_path, "name.json", {
        "@context": {"studyLoad": "https://example.nl/studyLoad", "name": "https://example.nl/name"}}),
        match="tried to redefine a protected term: 'name'")
    # OB 3.0.3's Achievement context redefines `version`: protected here, every achievement would break
    cli.refused("context", "add", "https://example.nl/bad", context_file(tmp_path, "version.json", {
        "@context": {"@protected": True, "version": "https://example.nl/version"}}),
        match="tried to redefine a protected term: 'version'")
    cli.refused("context", "add", "https://example.nl/bad", context_file(tmp_path, "remote.json", {
        "@context": {"@import": "https://example.org/elsewhere.jsonld"}}),
        match="refers to the context https://example.org/elsewhere.jsonld, which is not pinned")
    cli.refused("context", "add", "https://example.nl/bad", context_file(tmp_path, "vocab.json", {
        "@context": {"@vocab": "https://example.nl/terms#"}}), match="may not set @vocab")
    cli.refused("context", "add", "https://example.nl/big", context_file(tmp_path, "big.json", {
        "@context": {f"term{i}": f"https://example.nl/terms#{'x' * 40}{i}" for i in range(800)}}), match="KiB")
    assert [line.split("\t")[0] for line in cli.ok("context", "list").out.splitlines()] == [URL]


def test_only_the_operator_adds_contexts(registry):
    registry.commands.issuers.register(slug="roc", name="ROC", actor=OPERATOR)
    before = registry.store.max_position()
    with pytest.raises(NotAuthorised, match="only the registry's operator may add JSON-LD contexts"):
        registry.commands.contexts.add("https://example.nl/ob-ext/org", DATA, actor=Actor("api:rk_1", issuer="roc"))
    assert registry.store.max_position() == before


def test_contexts_over_http(api, tmp_path):
    text = DATA.decode()
    added = api.ok("/contexts", {"url": URL, "document": text, "sha256": SHA256}, status=201)
    assert (added["url"], added["sha256"], added["added"]) == (URL, SHA256, True)
    assert api.ok("/contexts", {"url": URL, "document": text}, status=201)["added"] is False

    organisation = api.register("roc")
    assert_problem(api.post("/contexts", {"url": "https://example.nl/ob-ext/roc", "document": text}, organisation),
                   403, detail="only the registry's operator")
    assert_problem(api.post("/contexts", {"url": URL, "document": text.replace("nlobx:ects", "nlobx:ectsCredits")}),
                   409, detail="is registered with sha256")
    assert_problem(api.post("/contexts", {"url": "https://example.nl/bad",
                                          "document": '{"@context": {"id": "https://example.nl/id"}}'}),
                   422, detail="tried to redefine a protected term: 'id'")
    assert_problem(api.post("/contexts", {"url": URL + "2", "document": text, "sha256": "f" * 64}), 400, field="sha256")

    listed = api.client.get("/contexts").json()
    assert [(c["url"], c["sha256"], c["href"]) for c in listed] == [(URL, SHA256, f"https://badges.test/contexts/{SHA256}")]
    for ref in (SHA256, quote(URL, safe="")):
        served = api.client.get(f"/contexts/{ref}")
        assert served.status_code == 200 and served.content == DATA
        assert served.headers["content-type"].startswith("application/ld+json")
        assert "immutable" in served.headers["cache-control"] and served.headers["etag"]
    assert api.client.get(f"/contexts/{SHA256}", headers={"If-None-Match": served.headers["etag"]}).status_code == 304
    assert_problem(api.client.get(f"/contexts/{'0' * 64}"), 404)


def test_the_event_log_page_shows_a_registration_and_links_the_pinned_bytes(api):
    api.ok("/contexts", {"url": URL, "document": DATA.decode()}, status=201)
    for language, words in (("en", "Extension context registered"), ("nl", "Uitbreidingscontext geregistreerd")):
        page = api.client.get(f"/pages/events?type=ExtensionContext.Registered&lang={language}")
        assert page.status_code == 200 and words in page.text
        assert re.findall(r'<tr data-type="([\w.]+)">', page.text) == ["ExtensionContext.Registered"]
        assert f'href="/contexts/{SHA256}' in page.text and URL in page.text and SHA256 in page.text


# --- achievements and credentials that use it ------------------------------------------------------------


def test_a_national_achievement_is_awarded_conforms_and_verifies(roc):
    registry = roc
    badge = registry.commands.achievements.define(issuer="roc", actor=OPERATOR, definition=national_definition()).id
    published = registry.queries.achievement_document(badge)
    assert published["@context"] == [*openbadges.CREDENTIAL_CONTEXTS, URL]
    assert published["type"] == ["Achievement", "NationalAchievement", "ext:MicroCredentialType"]
    assert (published["achievementType"], published["version"], published["studyLoad"], published["ECTS"]) == (
        "ext:MicroCredential", "2025-2026", 84, "3.0")

    credential = registry.commands.credentials.issue(Award(LEARNER, badge), actor=OPERATOR).document
    # The extension context after the credential's own, so the signature covers its terms; the
    # embedded achievement is the published one without its @context.
    assert credential["@context"] == [*openbadges.CREDENTIAL_CONTEXTS, URL]
    embedded = credential["credentialSubject"]["achievement"]
    assert embedded == {k: v for k, v in published.items() if k != "@context"}
    assert schema.check(credential).ok, schema.check(credential).errors
    assert registry.queries.verify(credential).verdict == "VALID"
    tampered = json.loads(json.dumps(credential))
    tampered["credentialSubject"]["achievement"]["identityChecked"] = False
    assert registry.queries.verify(tampered).verdict == "INVALID"


def test_version_labels_are_the_issuers_and_versions_resolve_by_number(roc):
    registry = roc
    badge = registry.commands.achievements.define(issuer="roc", actor=OPERATOR, definition=national_definition()).id
    unlabelled = {k: v for k, v in national_definition(studyLoad=112).items() if k != "version"}
    registry.commands.achievements.revise(badge, actor=OPERATOR, definition=unlabelled)
    registry.commands.achievements.revise(badge, actor=OPERATOR, definition=national_definition(version="2026-2027"))
    labels = [registry.queries.achievement_document(badge, n)["version"] for n in (1, 2, 3)]
    assert labels == ["2025-2026", "2", "2026-2027"]
    assert registry.queries.achievement_document(badge, 2)["studyLoad"] == 112
    assert registry.queries.achievement(badge).version == 3


@pytest.mark.parametrize("changes, error, kind", [
    ({"@context": ["https://example.nl/ob-ext/unregistered"]}, "is not a registered extension context", NotFound),
    ({"@context": [contexts.STATUS_V1]}, "name registered extension contexts only", DocumentError),
    ({"@context": [5]}, "lists the URLs of registered extension contexts", DocumentError),
    ({"@context": None}, "terms not defined by the pinned contexts: ECTS, assessmentType", DocumentError),
    ({"type": ["Achievement", "UndefinedKind"]}, "types not defined by the achievement's contexts: UndefinedKind",
     DocumentError),
    ({"type": ["NationalAchievement"]}, 'must include "Achievement"', DocumentError),
    ({"achievementType": "ext:"}, "achievementType 'ext:'", DocumentError),
    ({"achievementType": "ext:Micro Credential"}, "achievementType 'ext:Micro Credential'", DocumentError),
    ({"achievementType": "MicroCredentialNL"}, "does not conform to OB 3.0", DocumentError),
    ({"version": 2}, "version is the issuer's label", DocumentError),
    ({"version": " "}, "version is the issuer's label", DocumentError),
    ({"ECTS": "3.0", "ects": 3}, "terms not defined by the pinned contexts: ects", DocumentError),
])
def test_refused_national_definitions_store_nothing(roc, changes, error, kind):
    definition = {k: v for k, v in national_definition(**changes).items() if v is not None}
    before = roc.store.max_position()
    with pytest.raises(kind, match=error):
        roc.commands.achievements.define(issuer="roc", actor=OPERATOR, definition=definition)
    assert roc.store.max_position() == before


def test_an_organisation_signing_for_itself_embeds_the_published_achievement(roc):
    own = Partner()  # an organisation with its own did:key, signing for itself
    roc.commands.issuers.register(slug="college", name="College", did=own.did, actor=OPERATOR)
    badge = roc.commands.achievements.define(issuer="college", actor=OPERATOR, definition=national_definition()).id
    published = roc.queries.achievement_document(badge)
    unsigned = openbadges.open_badge_credential(
        f"urn:uuid:{uuid4()}", openbadges.profile(own.did, "College"), published, {"id": LEARNER},
        valid_from=xsd_datetime(datetime.now(timezone.utc)))
    assert unsigned["@context"] == published["@context"] and "@context" not in unsigned["credentialSubject"]["achievement"]
    signed = proofs.sign(unsigned, own)
    roc.commands.credentials.submit(json.dumps(signed), actor=Actor("college"))
    assert roc.queries.verify(signed).verdict == "VALID"
    # Without the extension context its terms mean nothing: the registry signs no such document.
    with pytest.raises(DocumentError, match="terms not defined"):
        proofs.sign({**unsigned, "@context": list(openbadges.CREDENTIAL_CONTEXTS)}, own)


def test_plain_achievements_are_published_and_awarded_as_before(roc):
    plain = roc.commands.achievements.define(issuer="roc", actor=OPERATOR, definition={
        "name": "Teamwork", "description": "Works in a team.", "criteria": {"narrative": "Observed."}}).id
    assert roc.queries.achievement_document(plain)["@context"] == openbadges.CREDENTIAL_CONTEXTS
    assert roc.queries.achievement_document(plain)["version"] == "1"
    credential = roc.commands.credentials.issue(Award(LEARNER, plain), actor=OPERATOR).document
    assert credential["@context"] == openbadges.CREDENTIAL_CONTEXTS


def test_a_new_registry_object_over_the_same_store_verifies_it(open_registry):
    first = open_registry()
    first.commands.issuers.register(slug="roc", name="ROC Rivierstad", actor=OPERATOR)
    first.commands.contexts.add(URL, DATA, actor=OPERATOR)
    badge = first.commands.achievements.define(issuer="roc", actor=OPERATOR, definition=national_definition()).id
    credential = first.commands.credentials.issue(Award(LEARNER, badge), actor=OPERATOR).document
    first.close()
    again = open_registry()
    assert again.queries.verify(credential).verdict == "VALID"
    assert [(c.url, c.sha256) for c in again.queries.extension_contexts()] == [(URL, SHA256)]
    assert again.queries.extension_context(URL).document.encode("utf-8") == DATA


# --- the command line, a restart, and a second process ----------------------------------------------------


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_defined_issued_and_verified_on_the_command_line(cli):
    cli.ok("issuer", "register", "--slug", "roc", "--name", "ROC Rivierstad")
    cli.ok("context", "add", URL, NATIONAL)
    definition = cli.write("welding.json", national_definition())
    badge = cli.ok("achievement", "define", "--issuer", "roc", "--file", definition).out.strip()
    shown = cli.ok("--json", "achievement", "show", badge).json()
    assert (shown["studyLoad"], shown["version"]) == (84, "2025-2026")
    # A revision from options keeps the extension context, the terms and the types.
    cli.ok("achievement", "revise", badge, "--description", "Welds steel and aluminium joints.")
    revised = cli.ok("--json", "achievement", "show", badge).json()
    assert (revised["studyLoad"], revised["type"], revised["version"]) == (84, shown["type"], "2")
    out = cli.dir / "credential.json"
    cli.ok("issue", "--achievement", badge, "--recipient", LEARNER, "--out", out)
    verified = cli("verify", out)
    assert verified.code == 0 and head(verified.out.strip()) == f"VALID {out}", verified.out


# A process of its own: nothing is pinned in it but what the registry's store holds.
SECOND_PROCESS = """
import json, sys
from registry.bootstrap import open_registry
from registry.vc import contexts
registry = open_registry()
print(json.dumps(sorted(contexts.registered())), flush=True)
for line in sys.stdin:
    credential = json.loads(open(line.strip()).read())
    print(json.dumps([registry.queries.verify(credential).verdict, sorted(contexts.registered())]), flush=True)
registry.close()
"""


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_a_restart_and_a_process_started_before_the_context_verify_it(open_registry, registry_environ, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")} | registry_environ
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    registry = open_registry()
    registry.commands.issuers.register(slug="roc", name="ROC Rivierstad", actor=OPERATOR)
    # Started before the context is registered: it pins nothing at start-up.
    second = subprocess.Popen([sys.executable, "-c", SECOND_PROCESS], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert json.loads(second.stdout.readline()) == [], second.stderr.read()
        registry.commands.contexts.add(URL, DATA, actor=OPERATOR)
        badge = registry.commands.achievements.define(issuer="roc", actor=OPERATOR,
                                                      definition=national_definition()).id
        path = tmp_path / "credential.json"
        path.write_text(json.dumps(registry.commands.credentials.issue(Award(LEARNER, badge), actor=OPERATOR).document))
        second.stdin.write(f"{path}\n")
        second.stdin.flush()
        # It learns of the context from the store the first time a document names it.
        assert json.loads(second.stdout.readline()) == ["VALID", [URL]], second.stderr.read()
    finally:
        second.stdin.close()
        second.wait(timeout=60)
    assert second.returncode == 0, second.stderr.read()
    registry.close()

    # A restart: a new process pins every registered context at start-up, and verifies the credential.
    restarted = subprocess.run([sys.executable, "-c", SECOND_PROCESS], env=env, input="", capture_output=True,
                               text=True, timeout=120, check=True)
    assert json.loads(restarted.stdout.splitlines()[0]) == [URL]
    verified = subprocess.run([sys.executable, "-m", "registry.cli", "verify", str(path)], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
    assert verified.returncode == 0 and verified.stdout.startswith(f"VALID {path}"), verified.stdout + verified.stderr


def _cli(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run([sys.executable, "-m", "registry.cli", *argv], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, f"registry {' '.join(argv)}: {done.stderr.strip()}"
    return done.stdout


@pytest.mark.parametrize("store_kind", ["sqlite"])
def test_an_auditor_reads_proofs_through_the_contexts_the_log_registered(open_registry, registry_environ, tmp_path):
    """The auditor has no store: it pins a context from the log's own entry, and keeps it in its
    saved state, so a later run that reads only the new entries still verifies their proofs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")} | registry_environ
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    auditor = {k: v for k, v in env.items() if not k.startswith("REGISTRY_")} | {"PYTHONPATH": env["PYTHONPATH"]}
    registry = open_registry()
    registry.commands.issuers.register(slug="roc", name="ROC Rivierstad", actor=OPERATOR)
    registry.commands.contexts.add(URL, DATA, actor=OPERATOR)
    badge = registry.commands.achievements.define(issuer="roc", actor=OPERATOR, definition=national_definition()).id
    registry.commands.credentials.issue(Award(LEARNER, badge), actor=OPERATOR)
    vkey = _cli(env, "log", "key").strip()
    state = tmp_path / "audit-state"

    def audit() -> dict:
        export, checkpoint = tmp_path / "export.jsonl", tmp_path / "checkpoint"
        export.write_text(_cli(env, "export"))
        checkpoint.write_text(_cli(env, "log", "checkpoint"))
        return json.loads(_cli(auditor, "audit", "--export", str(export), "--checkpoint", str(checkpoint),
                               "--key", vkey, "--state", str(state), "--json", "--no-progress"))

    first = audit()
    assert first["consistent"] and first["credentials"] == 1 and first["previous_size"] == 0
    registry.commands.credentials.issue(Award("did:example:second", badge), actor=OPERATOR)
    second = audit()  # resumed: the context's entry is not read again
    assert second["previous_size"] == first["size"] and second["credentials"] == 2

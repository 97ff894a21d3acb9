"""The `registry` command line, through registry.cli.main(argv) (and the installed script for an
end-to-end run). Exit 0 success, 1 "invalid" (verify), 2 bad input: then ONE line on stderr that
starts with `registry:`, and nothing stored (70 is an internal error, which none of these is)."""

from __future__ import annotations

import argparse
import json
import os
import stat
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.cli import main
from registry.cli.parser import build
from registry.commands import MAX_BATCH_BYTES
from registry.vc import did as dids
from registry.vc import openbadges, proofs, schema

PUBLIC_URL = "https://badges.test"
LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


class Cli:
    def __init__(self, tmp_path: Path, capsys, open_registry) -> None:
        self.dir = tmp_path
        self._capsys = capsys
        self._open_registry = open_registry  # the conftest factory, over the store the CLI uses
        self._registry = None

    def __call__(self, *argv: object) -> Run:
        code = main([str(a) for a in argv])
        captured = self._capsys.readouterr()
        return Run(code, captured.out, captured.err)

    def ok(self, *argv: object) -> Run:
        result = self(*argv)
        assert result.code == 0, result.err
        return result

    def position(self) -> int:
        """The newest log position, read through a registry over the same store (opened once, on
        first use, by the composition root; closed by the fixture)."""
        if self._registry is None:
            self._registry = self._open_registry()
        return self._registry.store.max_position()

    def refused(self, *argv: object, match: str | None = None) -> Run:
        """Exit 2, one `registry:` line on stderr, nothing on stdout, nothing stored."""
        before = self.position()
        result = self(*argv)
        assert result.code == 2, (result.out, result.err)
        lines = result.err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("registry: "), result.err
        assert result.out == ""
        if match is not None:
            assert match in lines[0], lines[0]
        assert self.position() == before, "a refused command stored events"
        return result

    def write(self, name: str, content: str | bytes | dict | list) -> Path:
        path = self.dir / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content, indent=2))
        return path


def environment(monkeypatch, tmp_path: Path, registry_environ: dict[str, str]) -> None:
    """The CLI reads os.environ: give it the environment of the conftest's registry (REGISTRY_HOME,
    REGISTRY_KEYS, REGISTRY_PUBLIC_URL, and REGISTRY_DATABASE_URL on PostgreSQL), so the registry
    `Cli.position` opens sees the same store and keys."""
    assert registry_environ["REGISTRY_PUBLIC_URL"] == PUBLIC_URL
    monkeypatch.delenv("REGISTRY_KEYSTORE_PASSPHRASE", raising=False)
    monkeypatch.delenv("REGISTRY_CREATE_TABLES", raising=False)
    monkeypatch.delenv("REGISTRY_DATABASE_URL", raising=False)
    for key, value in registry_environ.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def store_kind() -> str:
    """The command line tests run on SQLite; those using `cli_any_store` are parametrised over both
    stores (overriding this)."""
    return "sqlite"


@pytest.fixture
def cli(registry_environ, open_registry, tmp_path, monkeypatch, capsys) -> Cli:
    environment(monkeypatch, tmp_path, registry_environ)
    return Cli(tmp_path, capsys, open_registry)


@pytest.fixture
def cli_any_store(cli) -> Cli:
    """The CLI over SQLite or PostgreSQL: a test using it is parametrised with ANY_STORE."""
    return cli


ANY_STORE = pytest.mark.parametrize("store_kind", ["sqlite", "postgres"])


@pytest.fixture
def acme(cli) -> Cli:
    cli.ok("issuer", "register", "--slug", "acme", "--name", "Acme Academy", "--url", "https://acme.example")
    return cli


def head(line: str) -> str:
    """A verify line's verdict and file, without the words about what was verified."""
    return line.split(" \u2014 ", 1)[0]


def define(cli: Cli, name: str, *extra: str) -> str:
    return cli.ok("achievement", "define", "--issuer", "acme", "--name", name,
                  "--description", f"The holder shows {name.lower()}.", "--criteria", f"Assessed on {name}.",
                  *extra).out.strip()


class Partner:
    """An organisation with its own did:key that signs its endorsements itself."""

    def __init__(self) -> None:
        self._private = Ed25519PrivateKey.generate()
        self.did = dids.did_key(self._private.public_key().public_bytes_raw())
        self.verification_method = f"{self.did}#{self.did.removeprefix('did:key:')}"

    def sign(self, data: bytes) -> bytes:
        return self._private.sign(data)

    def unsigned(self, subject: str) -> dict:
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return openbadges.endorsement_credential(
            f"urn:uuid:{uuid4()}", openbadges.profile(self.did, "Partner Network"), subject,
            "We recommend it.", valid_from=now)

    def endorsement(self, subject: str) -> dict:
        return proofs.sign(self.unsigned(subject), self,
                           created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


# --- help and usage --------------------------------------------------------------------------------


def command_paths(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = [prefix]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += command_paths(sub, (*prefix, name))
    return paths


ALL_COMMANDS = command_paths(build())


def test_every_command_is_in_the_parser():
    expected = {("init",), ("demo",), ("issuer", "register"), ("issuer", "show"), ("issuer", "list"),
                ("did",), ("keys", "rotate"), ("keys", "compromise"), ("achievement", "define"),
                ("achievement", "revise"), ("achievement", "retire"), ("achievement", "show"),
                ("achievement", "list"), ("issue",), ("revoke",), ("suspend",), ("reinstate",),
                ("credential",), ("endorse",), ("endorsement", "submit"), ("endorsement", "withdraw"),
                ("verify",), ("export",)}
    assert expected <= set(ALL_COMMANDS)


@pytest.mark.parametrize("path", ALL_COMMANDS, ids=lambda p: " ".join(p) or "registry")
def test_every_command_has_help(path, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_:
        main([*path, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: registry") and " ".join(path) in out
    assert list(tmp_path.iterdir()) == []  # --help opens no store


@pytest.mark.parametrize("argv", [[], ["frobnicate"], ["issuer", "register", "--slug", "x"],
                                  ["achievement", "show"], ["achievement", "show", "x", "--version", "two"]])
def test_usage_errors_are_one_line_and_exit_2(argv, capsys):
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1 and captured.err.startswith("registry")


def test_passphrase_keystore_from_the_environment(cli, monkeypatch):
    monkeypatch.setenv("REGISTRY_KEYSTORE_PASSPHRASE", "right passphrase")
    cli.ok("issuer", "register", "--slug", "acme", "--name", "Acme")
    monkeypatch.setenv("REGISTRY_KEYSTORE_PASSPHRASE", "wrong passphrase")
    result = cli("keys", "rotate", "acme")
    assert result.code == 2 and result.err.startswith("registry: wrong passphrase")
    assert len(result.err.splitlines()) == 1
    monkeypatch.delenv("REGISTRY_KEYSTORE_PASSPHRASE")
    result = cli("keys", "rotate", "acme")
    assert result.code == 2 and "REGISTRY_KEYSTORE_PASSPHRASE" in result.err
    monkeypatch.setenv("REGISTRY_KEYSTORE_PASSPHRASE", "right passphrase")
    cli.ok("keys", "rotate", "acme")
    assert [k["state"] for k in cli.ok("issuer", "show", "acme", "--json").json()["keys"]] == ["retired", "active"]


@pytest.mark.parametrize("variable, value", [
    ("REGISTRY_PUBLIC_URL", "ftp://badges.test"),
    ("REGISTRY_PUBLIC_URL", "https://badges.test/some/path"),
    ("REGISTRY_DATABASE_URL", "mysql://user:hunter2@db.example/registry"),
])
def test_bad_environment_is_one_line_and_exit_2(cli, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    result = cli("issuer", "list")
    assert result.code == 2 and result.out == ""
    assert len(result.err.splitlines()) == 1 and result.err.startswith("registry: ")
    assert "hunter2" not in result.err


# --- init and demo ---------------------------------------------------------------------------------


def test_init_creates_the_store_and_the_keystore(cli):
    result = cli.ok("init")
    assert "registry ready" in result.out and "SQLite" in result.out
    assert (cli.dir / "home" / "registry.sqlite").is_file()
    # Readable by the owner only, like the keystore: it holds API-key hashes and stored answers.
    assert stat.S_IMODE((cli.dir / "home").stat().st_mode) == 0o700
    assert stat.S_IMODE((cli.dir / "home" / "registry.sqlite").stat().st_mode) == 0o600
    assert (cli.dir / "keys" / "keystore.json").is_file()
    data = cli.ok("init", "--json").json()
    assert data["keys"] == str(cli.dir / "keys")
    assert cli.position() == 0


def test_a_store_an_earlier_version_left_readable_is_made_private(cli):
    cli.ok("init")
    database = cli.dir / "home" / "registry.sqlite"
    database.chmod(0o644)
    cli.ok("issuer", "list")
    assert stat.S_IMODE(database.stat().st_mode) == 0o600


def test_moments_out_of_range_are_refused_in_one_line(acme):
    cli = acme
    badge = define(cli, "Teamwork")
    # 23:59 behind UTC on the last day of year 9999 is in year 10000 in UTC
    cli.refused("issue", "--achievement", badge, "--recipient", LEARNER_DID,
                "--valid-until", "9999-12-31T23:59:59-23:59", match="out of range (years 1 to 9999 in UTC)")
    issued = cli.ok("issue", "--achievement", badge, "--recipient", LEARNER_DID).out.strip()
    cli.refused("status", issued, "--at", "9999-12-31T23:59:59-23:59", match="--at")
    cli.refused("endorsements", "--of", "acme", "--at", "0001-01-01T00:00:00+01:00", match="out of range")


@ANY_STORE
def test_demo_twice_adds_nothing_the_second_time(cli_any_store):
    cli = cli_any_store
    first = cli.ok("demo", "--json").json()
    assert first["status"] == "demo data loaded"
    assert first["issuers"] >= 5 and first["credentials_issued"] > 0 and first["endorsements"] > 0
    assert first["credentials_revoked"] == 1 and first["key_rotations"] == 1
    assert first["verify_signed_with_retired_key"].endswith("VALID")
    assert first["verify_signed_with_new_key"].endswith("VALID")
    assert "INVALID" not in json.dumps(first)
    position = cli.position()
    assert first["events_stored"] == position

    second = cli.ok("demo", "--json").json()
    assert "already present" in second["status"]
    assert second["events_stored"] == first["events_stored"]
    assert cli.position() == position
    text = cli.ok("demo").out
    assert "already present" in text and f"events stored: {position}" in text


def test_demo_documents_verify_from_an_export(cli):
    """Every credential and endorsement the demo stored verifies, except the revoked credential
    and the withdrawn endorsement."""
    cli.ok("demo")
    documents = {}
    for line in cli.ok("export").out.splitlines():
        event = json.loads(line)
        if event["topic"].endswith(("Credential.Issued", "Endorsement.Endorsed")):
            documents[event["originator_id"]] = event["state"]["document"]
    paths = [cli.write(f"doc-{i}.json", text) for i, text in enumerate(documents.values())]
    result = cli(*["verify", *paths])
    assert result.code == 1
    lines = result.out.splitlines()
    assert len(lines) == len(paths)
    invalid = [line for line in lines if line.startswith("INVALID")]
    assert len(invalid) == 2, invalid
    assert any("revoked" in line for line in invalid) and any("withdrawn" in line for line in invalid)


# --- issuers and keys ------------------------------------------------------------------------------


@ANY_STORE
def test_issuer_register_show_list_did_and_keys(cli_any_store):
    cli = cli_any_store
    assert cli.ok("issuer", "register", "--slug", "acme", "--name", "Acme Academy",
                  "--url", "https://acme.example", "--email", "badges@acme.example").out.strip() == "acme"
    partner = Partner()
    registered = cli.ok("issuer", "register", "--slug", "partner", "--name", "Partner", "--did", partner.did,
                        "--json").json()
    assert registered["id"] == "partner" and registered["position"] == cli.position()

    shown = cli.ok("issuer", "show", "acme", "--json").json()
    assert shown["did"] == "did:web:badges.test:issuers:acme" and shown["hosted"] is True
    assert shown["email"] == "badges@acme.example"
    assert [k["state"] for k in shown["keys"]] == ["active"]
    assert json.loads(cli.ok("issuer", "show", "acme").out) == shown
    assert cli.ok("issuer", "show", "partner", "--json").json()["did"] == partner.did

    lines = cli.ok("issuer", "list").out.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["acme", "partner"]
    assert [i["slug"] for i in cli.ok("issuer", "list", "--json").json()] == ["acme", "partner"]

    first_vm = shown["keys"][0]["verification_method"]
    document = cli.ok("did", "acme").json()
    assert document["id"] == shown["did"] and document["assertionMethod"] == [first_vm]
    assert cli.ok("did", "partner").json()["id"] == partner.did

    new_vm = cli.ok("keys", "rotate", "acme").out.strip()
    assert new_vm.startswith(shown["did"] + "#") and new_vm != first_vm
    keys = cli.ok("issuer", "show", "acme", "--json").json()["keys"]
    assert [(k["verification_method"], k["state"]) for k in keys] == [(first_vm, "retired"), (new_vm, "active")]
    assert cli.ok("did", "acme").json()["assertionMethod"] == [first_vm, new_vm]

    since = (datetime.now(timezone.utc) - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reported = cli.ok("keys", "compromise", "acme", "--key", new_vm.split("#")[1], "--since", since, "--json")
    assert reported.json()["id"] == new_vm
    keys = cli.ok("issuer", "show", "acme", "--json").json()["keys"]
    assert [k["state"] for k in keys] == ["retired", "compromised", "active"]
    assert keys[1]["compromised_since"].startswith(since[:19])


def test_issuer_and_key_refusals(acme):
    cli = acme
    cli.refused("issuer", "register", "--slug", "acme", "--name", "Again", match="already registered")
    cli.refused("issuer", "register", "--slug", "Bad Slug", "--name", "X")
    cli.refused("issuer", "register", "--slug", "web", "--name", "X", "--did", "did:web:elsewhere.example")
    cli.refused("issuer", "show", "nobody", match="nobody")
    cli.refused("did", "nobody", match="nobody")
    cli.refused("keys", "rotate", "nobody", match="nobody")
    vm = cli.ok("issuer", "show", "acme", "--json").json()["keys"][0]["verification_method"]
    cli.refused("keys", "compromise", "acme", "--key", vm, "--since", "yesterday", match="--since")
    cli.refused("keys", "compromise", "acme", "--key", vm, "--since", "2026-01-01T00:00:00", match="--since")
    cli.refused("keys", "compromise", "acme", "--key", "z6MkNope", "--since", "2026-01-01T00:00:00Z",
                match="no key")


# --- achievements ----------------------------------------------------------------------------------


def test_achievement_define_revise_retire_show_list(acme):
    cli = acme
    by_flags = define(cli, "Teamwork", "--type", "Competency")
    file = cli.write("creativity.json", {
        "name": "Creativity", "description": "The holder thinks creatively.",
        "criteria": {"narrative": "Scored 85% or more."}, "tag": ["soft skills"]})
    by_file = cli.ok("achievement", "define", "--issuer", "acme", "--file", file, "--json").json()["id"]
    super_badge = define(cli, "Super Badge", "--requires", by_flags, by_file)

    shown = cli.ok("achievement", "show", by_flags, "--json").json()
    assert shown["id"] == f"{PUBLIC_URL}/achievements/{by_flags}"
    assert (shown["name"], shown["achievementType"], shown["version"]) == ("Teamwork", "Competency", "1")
    assert shown["creator"]["id"] == "did:web:badges.test:issuers:acme"
    assert cli.ok("achievement", "show", by_file, "--json").json()["tag"] == ["soft skills"]
    assert json.loads(cli.ok("achievement", "show", by_flags).out) == shown

    assert cli.ok("achievement", "revise", by_flags, "--name", "Team work").out.strip() == by_flags
    revised = cli.ok("achievement", "show", by_flags, "--json").json()
    assert (revised["name"], revised["version"], revised["description"]) == ("Team work", "2", shown["description"])
    assert cli.ok("achievement", "show", by_flags, "--version", "1", "--json").json() == shown
    cli.refused("achievement", "show", by_flags, "--version", "3", match="no version 3")

    listed = {a["id"]: a for a in cli.ok("achievement", "list", "--issuer", "acme", "--json").json()}
    assert set(listed) == {by_flags, by_file, super_badge}
    assert listed[by_flags]["version"] == 2
    assert set(listed[super_badge]["requires"]) == {by_flags, by_file}

    cli.ok("achievement", "retire", by_file, "--reason", "replaced")
    listed = {a["id"]: a for a in cli.ok("achievement", "list", "--json").json()}
    assert listed[by_file]["retired"] is True
    assert f"{by_file}\tv1\tretired Creativity" in cli.ok("achievement", "list").out
    cli.refused("achievement", "revise", by_file, "--name", "Again", match="retired")
    cli.refused("achievement", "retire", by_file, "--reason", "again", match="already retired")


def test_bad_achievement_input(acme):
    cli = acme
    cli.refused("achievement", "define", "--issuer", "acme", "--file", cli.write("bad.json", '{"name": "x",'),
                match="malformed JSON")
    for wrong in ({"name": 5, "description": "d", "criteria": {"narrative": "n"}},
                  {"name": "x", "description": "d", "criteria": "just do it"},
                  {"name": "x", "description": ["d"], "criteria": {"narrative": "n"}},
                  {"name": "x", "description": "d", "criteria": {"narrative": "n"}, "id": "urn:x"},
                  {"name": "x", "description": "d", "criteria": {"narrative": "n"}, "undefinedTerm": 1},
                  ["not", "an", "object"]):
        cli.refused("achievement", "define", "--issuer", "acme", "--file", cli.write("wrong.json", wrong))
    for text, said in (("[" * 5000 + "]" * 5000, "nested more than 64 levels"),
                       ('{"name": "x", "name": "y", "description": "d", "criteria": {"narrative": "n"}}',
                        "'name' appears twice"),
                       ('{"name": "x", "description": "d", "criteria": {"narrative": "n"}, "n": 1e999}', "out of range"),
                       ('{"name": NaN}', "NaN is not a JSON value")):
        cli.refused("achievement", "define", "--issuer", "acme", "--file", cli.write("hostile.json", text), match=said)
        verified = cli("verify", cli.dir / "hostile.json")  # a file that is no credential: INVALID
        assert verified.code == 1 and said in verified.out and verified.err == "", verified
    big = {"name": "x", "description": "d" * (256 * 1024), "criteria": {"narrative": "n"}}
    cli.refused("achievement", "define", "--issuer", "acme", "--file", cli.write("big.json", big),
                match="larger than")
    cli.refused("achievement", "define", "--issuer", "acme", "--file", cli.dir / "missing.json",
                match="no such file")
    cli.refused("achievement", "define", "--issuer", "acme", "--file", cli.write("latin1.json", b'{"name": "\xe9"}'),
                match="UTF-8")
    cli.refused("achievement", "define", "--issuer", "nobody", "--name", "X", "--description", "d",
                "--criteria", "c", match="nobody")
    cli.refused("achievement", "define", "--issuer", "acme", "--name", "X", match="missing")
    cli.refused("achievement", "define", "--issuer", "acme", "--name", "X", "--file", cli.write("ok.json", {}),
                match="either --file")
    cli.refused("achievement", "show", str(uuid4()))
    cli.refused("achievement", "retire", "not-a-uuid", "--reason", "x")


# --- issuing and status ----------------------------------------------------------------------------


def test_issue_with_json_and_out(acme):
    cli = acme
    badge = define(cli, "Teamwork")
    out = cli.dir / "credential.json"
    result = cli.ok("issue", "--achievement", badge, "--recipient", "Amira@Example.org", "--result", "92%",
                    "--evidence", "https://evidence.example/1", "--valid-until", "2031-01-01T00:00:00Z",
                    "--json", "--out", out).json()
    assert set(result) >= {"id", "position", "document"}
    document = result["document"]
    assert document["id"] == f"urn:uuid:{result['id']}"
    assert json.loads(out.read_text()) == document
    assert not [form for form in ("Amira@Example.org", "amira@example.org", "Amira", "Example.org")
                if form in out.read_text()]
    assert schema.check(document).ok
    verified = cli.ok("verify", out)
    assert verified.out.startswith(f"VALID {out} \u2014 \"Teamwork\" from ") and verified.out.count("\n") == 1
    assert "issued 20" in verified.out and "result 92%" in verified.out
    stored = cli.ok("credential", result["id"], "--json").json()
    assert stored["status"] == "active" and stored["document"] == document
    plain = cli.ok("issue", "--achievement", badge, "--recipient", LEARNER_DID)
    assert len(plain.out.splitlines()) == 1 and plain.out.strip() != result["id"]


def test_issue_batch(acme):
    cli = acme
    teamwork, creativity = define(cli, "Teamwork"), define(cli, "Creativity")
    super_badge = define(cli, "Super Badge", "--requires", teamwork, creativity)
    csv = cli.write("batch.csv", "recipient,achievement,result\n"
                                 f"eva@example.org,{teamwork},90%\n"
                                 f"eva@example.org,{creativity},88%\n"
                                 f"eva@example.org,{super_badge},\n"
                                 f"{LEARNER_DID},{teamwork},71%\n")
    out = cli.dir / "batch.json"
    result = cli.ok("issue", "--batch", csv, "--out", out, "--json").json()
    assert len(result["ids"]) == len(result["documents"]) == 4
    assert json.loads(out.read_text()) == result["documents"]
    files = [cli.write(f"c{i}.json", d) for i, d in enumerate(result["documents"])]
    verified = cli.ok("verify", *files)
    assert [head(line) for line in verified.out.splitlines()] == [f"VALID {f}" for f in files]
    assert len(cli.ok("issue", "--batch", csv).out.splitlines()) == 4

    bad = cli.write("bad.csv", "recipient,achievement\n"
                               f"frank@example.org,{teamwork}\n"
                               f"frank@example.org,{super_badge}\n")
    cli.refused("issue", "--batch", bad, match="row 3")
    cli.refused("issue", "--batch", cli.write("cols.csv", "who,what\nx,y\n"), match="batch header")
    cli.refused("issue", "--batch", csv, "--achievement", teamwork, match="--batch")
    big = "recipient,achievement\n" + f"x@example.org,{teamwork}\n" * (MAX_BATCH_BYTES // 50)
    cli.refused("issue", "--batch", cli.write("big.csv", big), match="larger than")


def test_issue_refusals(acme):
    cli = acme
    badge = define(cli, "Teamwork")
    cli.refused("issue", "--achievement", str(uuid4()), "--recipient", LEARNER_DID, match="no achievement")
    cli.refused("issue", "--achievement", badge, "--recipient", "not-an-address")
    cli.refused("issue", "--achievement", badge, match="--recipient")
    cli.refused("issue", "--achievement", badge, "--recipient", LEARNER_DID, "--valid-until", "soon",
                match="--valid-until")
    cli.refused("issue", "--achievement", badge, "--recipient", LEARNER_DID,
                "--valid-until", "2001-01-01T00:00:00Z", match="validUntil")
    cli.ok("achievement", "retire", badge, "--reason", "replaced")
    cli.refused("issue", "--achievement", badge, "--recipient", LEARNER_DID, match="retired")


def test_revoke_suspend_reinstate(acme):
    cli = acme
    badge = define(cli, "Teamwork")
    issued = cli.ok("issue", "--achievement", badge, "--recipient", LEARNER_DID, "--json").json()
    credential, file = issued["id"], cli.write("c.json", issued["document"])

    cli.refused("reinstate", credential, match="only a suspended")
    assert cli.ok("suspend", credential, "--reason", "under review").out.strip() == credential
    assert cli.ok("credential", credential, "--json").json()["status"] == "suspended"
    suspended = cli("verify", file)
    assert suspended.code == 1 and suspended.out.startswith(f"INVALID {file}: ") and "suspended" in suspended.out
    cli.ok("reinstate", credential)
    assert cli.ok("verify", file).out.startswith("VALID")
    assert cli("revoke", credential).code == 2  # a revocation needs --reason (usage error)
    cli.ok("revoke", credential, "--reason", "assessment incomplete")
    stored = cli.ok("credential", credential, "--json").json()
    assert (stored["status"], stored["reason"]) == ("revoked", "assessment incomplete")
    assert "revoked" in cli("verify", file).out
    for command in ("revoke", "suspend", "reinstate"):
        cli.refused(command, credential, "--reason", "again")
    cli.refused("revoke", str(uuid4()), "--reason", "x", match="no credential")
    cli.refused("credential", "nonsense")


# --- endorsements ----------------------------------------------------------------------------------


def test_endorse_submit_withdraw(acme):
    cli = acme
    cli.ok("issuer", "register", "--slug", "techbouw", "--name", "Techbouw B.V.")
    badge = define(cli, "Teamwork")
    credential = cli.ok("issue", "--achievement", badge, "--recipient", LEARNER_DID).out.strip()
    ids = []
    for subject in ("acme", badge, credential):
        out = cli.dir / f"endorsement-{len(ids)}.json"
        result = cli.ok("endorse", "--by", "techbouw", "--subject", subject, "--comment", "Trusted.",
                        "--out", out, "--json").json()
        assert json.loads(out.read_text()) == result["document"]
        assert "EndorsementCredential" in result["document"]["type"]
        ids.append(result["id"])
    verified = cli.ok("verify", *[cli.dir / f"endorsement-{i}.json" for i in range(3)])
    assert len(verified.out.splitlines()) == 3

    partner = Partner()
    cli.ok("issuer", "register", "--slug", "partner", "--name", "Partner Network", "--did", partner.did)
    signed = partner.endorsement(f"{PUBLIC_URL}/achievements/{badge}")
    submitted_file = cli.write("submitted.json", json.dumps(signed, indent=2))
    submitted = cli.ok("endorsement", "submit", submitted_file, "--json").json()
    assert submitted["document"] == signed
    cli.refused("endorsement", "submit", submitted_file, match="already submitted")

    tampered = json.loads(json.dumps(signed))
    tampered["id"] = f"urn:uuid:{uuid4()}"
    cli.refused("endorsement", "submit", cli.write("tampered.json", tampered), match="does not verify")
    cli.refused("endorse", "--by", "partner", "--subject", "acme", "--comment", "x", match="signs its own")
    cli.refused("endorse", "--by", "techbouw", "--subject", "techbouw", "--comment", "x", match="itself")
    cli.refused("endorse", "--by", "nobody", "--subject", "acme", "--comment", "x", match="nobody")

    assert cli.ok("endorsement", "withdraw", ids[0], "--reason", "ended").out.strip() == ids[0]
    withdrawn = cli("verify", cli.dir / "endorsement-0.json")
    assert withdrawn.code == 1 and "withdrawn" in withdrawn.out
    cli.refused("endorsement", "withdraw", ids[0], match="already withdrawn")
    cli.refused("endorsement", "withdraw", str(uuid4()))


def test_bad_endorsement_submissions(acme):
    cli = acme
    partner = Partner()
    cli.ok("issuer", "register", "--slug", "partner", "--name", "Partner Network", "--did", partner.did)
    signed = partner.endorsement("did:web:badges.test:issuers:acme")
    cli.refused("endorsement", "submit", cli.write("bad.json", "{"), match="malformed JSON")
    unknown_context = {**signed, "@context": [*signed["@context"], "https://unknown.example/context.json"]}
    cli.refused("endorsement", "submit", cli.write("ctx.json", unknown_context), match="unknown.example")
    unknown_context_signed_over = partner.unsigned("did:web:badges.test:issuers:acme")
    unknown_context_signed_over["@context"].append("https://unknown.example/context.json")
    cli.refused("endorsement", "submit", cli.write("ctx2.json", unknown_context_signed_over))
    padded = {**signed, "name": "x" * (300 * 1024)}
    cli.refused("endorsement", "submit", cli.write("big.json", padded), match="larger than")
    stranger = Partner().endorsement("did:web:badges.test:issuers:acme")
    cli.refused("endorsement", "submit", cli.write("stranger.json", stranger), match="is not a registered organisation")
    cli.refused("endorsement", "submit", cli.write("list.json", [signed]), match="JSON object")


# --- verify and export -----------------------------------------------------------------------------


def test_verify_lines_and_exit_status(acme):
    cli = acme
    badge = define(cli, "Teamwork")
    first = cli.ok("issue", "--achievement", badge, "--recipient", LEARNER_DID, "--out", cli.dir / "a.json")
    cli.ok("issue", "--achievement", badge, "--recipient", "x@example.org", "--out", cli.dir / "b.json")
    a, b = cli.dir / "a.json", cli.dir / "b.json"
    both = cli("verify", a, b)
    assert both.code == 0 and [head(line) for line in both.out.splitlines()] == [f"VALID {a}", f"VALID {b}"]
    assert both.err == ""

    tampered = json.loads(a.read_text())
    tampered["credentialSubject"]["id"] = "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf"
    t = cli.write("tampered.json", tampered)
    malformed = cli.write("malformed.json", '{"id": ')
    missing = cli.dir / "missing.json"
    result = cli("verify", a, t, malformed, b, missing)
    assert result.code == 1
    lines = result.out.splitlines()
    assert len(lines) == 5
    assert head(lines[0]) == f"VALID {a}" and head(lines[3]) == f"VALID {b}"
    assert lines[1].startswith(f"INVALID {t}: ") and "proof" in lines[1]
    assert lines[2].startswith(f"INVALID {malformed}: ") and "malformed JSON" in lines[2]
    assert lines[4].startswith(f"INVALID {missing}: ")
    assert cli("verify", t).code == 1
    assert cli("verify", malformed).code == 1

    reports = [json.loads(line) for line in cli("verify", a, t, "--json").out.splitlines()]
    assert [r["valid"] for r in reports] == [True, False]
    assert reports[0]["file"] == str(a) and reports[0]["credential_id"] == f"urn:uuid:{first.out.strip()}"


def test_export_is_json_lines_in_order(acme):
    cli = acme
    badge = define(cli, "Teamwork")
    cli.ok("issue", "--achievement", badge, "--recipient", LEARNER_DID)
    lines = cli.ok("export").out.splitlines()
    events = [json.loads(line) for line in lines]
    assert cli.position() == len(events)
    assert list(events[0]) == ["originator_id", "originator_version", "topic", "state"]
    assert [e["topic"].rsplit(".", 1)[-1] for e in events] == [
        "Registered", "KeyAdded", "Claimed", "Defined", "Issued", "Allocated", "Enrolled", "Awarded"]
    out = cli.dir / "events.jsonl"
    assert cli.ok("export", "--out", out).out == ""
    assert out.read_text().splitlines() == lines


# --- end to end ------------------------------------------------------------------------------------


def test_installed_script_end_to_end(tmp_path):
    script = Path(sys.executable).with_name("registry")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("REGISTRY_")} | {"REGISTRY_HOME": str(tmp_path / "home"),
                                                "REGISTRY_KEYS": str(tmp_path / "keys"),
                                                "REGISTRY_PUBLIC_URL": PUBLIC_URL}

    def run(*argv: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(script), *argv], env=env, cwd=tmp_path, capture_output=True, text=True,
                              timeout=120)

    demo = run("demo", "--json")
    assert demo.returncode == 0, demo.stderr
    assert json.loads(demo.stdout)["status"] == "demo data loaded"
    achievement = json.loads(run("achievement", "list", "--json").stdout)[0]["id"]
    issued = run("issue", "--achievement", achievement, "--recipient", LEARNER_DID, "--out", "c.json")
    assert issued.returncode == 0, issued.stderr
    verified = run("verify", "c.json")
    assert verified.returncode == 0 and head(verified.stdout.strip()) == "VALID c.json"
    refused = run("issue", "--achievement", str(uuid4()), "--recipient", LEARNER_DID)
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("registry: ")


@pytest.mark.parametrize("public_url, host, port, warned", [
    ("http://localhost:8000", "127.0.0.1", 8000, False),
    ("http://localhost:8000", "127.0.0.1", 9000, True),  # the DIDs name a port nothing serves
    ("https://127.0.0.1:8443", "127.0.0.1", 9000, False),  # https: a TLS proxy is in front (serve speaks http)
    ("https://badges.example.org", "0.0.0.0", 8000, False),
])
def test_serve_warns_when_a_local_public_url_names_another_address(public_url, host, port, warned):
    from registry.cli.operations import public_url_mismatch

    assert (public_url_mismatch(public_url, host, port) is not None) == warned

"""A verifier anywhere gets the truth. Registry A hosts an issuer and serves its DID document and
status list on 127.0.0.1 (`registry serve`); registry B, another instance with an empty store,
verifies A's credentials by fetching what it needs, through the command line (exit 0 VALID,
1 INVALID, 3 INDETERMINATE) and its queries. Forged, tampered and revoked credentials are INVALID;
what cannot be had (an unreachable issuer, a host the policy refuses, offline) is INDETERMINATE,
never VALID."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from registry.bootstrap import open_registry
from registry.commands import Actor, Award
from registry.vc import multikey, proofs, status_list
from test_api_two_servers import free_port, serving

OPERATOR = Actor("test")
LEARNER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


class Attacker:
    """Signs with its own key under the issuer's DID: a verification method the issuer never published."""

    def __init__(self, issuer_did: str) -> None:
        self.key = Ed25519PrivateKey.generate()
        public = multikey.encode_public_key(self.key.public_key().public_bytes_raw())
        self.verification_method = f"{issuer_did}#{public}"

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


@pytest.fixture(scope="module")
def hosting(tmp_path_factory):
    """Registry A on 127.0.0.1: acme with three credentials, one of them revoked, served."""
    tmp = tmp_path_factory.mktemp("hosting")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_HOME": str(tmp / "home-a"), "REGISTRY_KEYS": str(tmp / "keys"),
                "REGISTRY_PUBLIC_URL": f"http://127.0.0.1:{port}"})
    registry = open_registry(env)
    try:
        registry.commands.issuers.register(slug="acme", name="Acme Academy", actor=OPERATOR)
        course = registry.commands.achievements.define(issuer="acme", actor=OPERATOR, definition={
            "name": "Teamwork", "description": "Works in a team.", "criteria": {"narrative": "Peer-reviewed."}}).id
        kept, revoked, other = (registry.commands.credentials.issue(Award(LEARNER, course), actor=OPERATOR)
                                for _ in range(3))
        registry.commands.credentials.revoke(revoked.id, reason="issued in error", actor=OPERATOR)
        issuer_did = registry.queries.issuer("acme").did
    finally:
        registry.close()
    serve_env = {**env, "REGISTRY_HOME": str(tmp / "home-a")}
    with serving(serve_env, "a", tmp, port) as client:
        assert str(client.base_url).rstrip("/") == f"http://127.0.0.1:{port}"
        yield {"port": port, "did": issuer_did, "kept": kept.document, "revoked": revoked.document,
               "other": other.document, "tmp": tmp, "client": client}


def verifier_env(tmp: Path, name: str, insecure: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update({"REGISTRY_HOME": str(tmp / f"home-{name}"), "REGISTRY_KEYS": str(tmp / f"keys-{name}"),
                "REGISTRY_PUBLIC_URL": "https://verifier.example"})
    if insecure:
        env["REGISTRY_INSECURE_HOSTS"] = insecure
    return env


def verify_cli(env: dict[str, str], document: dict, tmp: Path, *flags: str) -> tuple[int, str, dict]:
    path = tmp / f"credential-{abs(hash(json.dumps(document, sort_keys=True)))}.json"
    path.write_text(json.dumps(document))
    text = subprocess.run([sys.executable, "-m", "registry.cli", "verify", str(path), *flags],
                          env=env, capture_output=True, text=True, timeout=60)
    data = subprocess.run([sys.executable, "-m", "registry.cli", "--json", "verify", str(path), *flags],
                          env=env, capture_output=True, text=True, timeout=60)
    assert data.returncode == text.returncode, (text.stderr, data.stderr)
    return text.returncode, text.stdout.strip(), json.loads(data.stdout)


def checks(report: dict) -> dict[str, tuple[str, str]]:
    return {c["name"]: (c["outcome"], c["reason"]) for c in report["checks"]}


def test_a_real_credential_is_valid_at_another_registry(hosting):
    env = verifier_env(hosting["tmp"], "b", f"127.0.0.1:{hosting['port']}")
    code, line, report = verify_cli(env, hosting["kept"], hosting["tmp"])
    assert code == 0 and line.startswith("VALID"), line
    found = checks(report)
    assert found["proof"][0] == "pass" and found["key-history"][0] == "pass"
    assert found["status"][0] == "pass" and f"127.0.0.1:{hosting['port']}/status-lists/acme/1" in found["status"][1]
    assert found["issuer-known"][0] == "warn"  # B does not host acme: it fetched what it needed


def test_a_forgery_under_the_issuers_did_web_is_invalid(hosting):
    forged = {k: v for k, v in hosting["kept"].items() if k != "proof"}
    forged["id"] = "urn:uuid:00000000-0000-4000-8000-000000000001"
    forged = proofs.sign(forged, Attacker(hosting["did"]), created="2026-01-01T00:00:00Z")
    env = verifier_env(hosting["tmp"], "b", f"127.0.0.1:{hosting['port']}")
    code, line, report = verify_cli(env, forged, hosting["tmp"])
    assert code == 1 and line.startswith("INVALID"), line
    assert "is not an assertion method of " + hosting["did"] in checks(report)["proof"][1]


def test_tampered_and_revoked_credentials_are_invalid(hosting):
    env = verifier_env(hosting["tmp"], "b", f"127.0.0.1:{hosting['port']}")
    tampered = json.loads(json.dumps(hosting["other"]))
    tampered["credentialSubject"]["achievement"]["name"] = "Leadership"
    code, line, report = verify_cli(env, tampered, hosting["tmp"])
    assert code == 1 and checks(report)["proof"][0] == "fail", line
    code, line, report = verify_cli(env, hosting["revoked"], hosting["tmp"])
    assert code == 1 and line.startswith("INVALID"), line
    assert checks(report)["status"] == ("fail", checks(report)["status"][1]) and "is set" in checks(report)["status"][1]


def test_a_tampered_status_list_is_refused(hosting, tmp_path):
    env = verifier_env(hosting["tmp"], "c", f"127.0.0.1:{hosting['port']}")
    url = hosting["revoked"]["credentialStatus"]["statusListCredential"]
    published = hosting["client"].get(url).json()
    forged_list = json.loads(json.dumps(published))
    # The list as someone would forge it: the revoked entry cleared, the proof left as it was.
    forged_list["credentialSubject"]["encodedList"] = status_list.encode([])
    assert forged_list != published
    (tmp_path / "list.json").write_text(json.dumps(forged_list))
    code, line, report = verify_cli(env, hosting["revoked"], hosting["tmp"], "--document", f"{url}={tmp_path / 'list.json'}")
    assert code == 1 and "does not verify" in checks(report)["status"][1], line


def test_what_cannot_be_had_is_indeterminate_never_valid(hosting, tmp_path):
    document = hosting["kept"]
    # Offline: nothing fetched.
    env = verifier_env(hosting["tmp"], "d", f"127.0.0.1:{hosting['port']}")
    code, line, report = verify_cli(env, document, hosting["tmp"], "--offline")
    assert code == 3 and line.startswith("INDETERMINATE") and "offline" in line, line
    # The policy: 127.0.0.1 is a private address and plain http, neither allowed unless listed.
    code, line, report = verify_cli(verifier_env(hosting["tmp"], "e", None), document, hosting["tmp"])
    assert code == 3 and "refused" in line, line
    # An issuer whose server does not answer.
    silent = free_port()
    moved = json.loads(json.dumps(document).replace(f"127.0.0.1%3A{hosting['port']}", f"127.0.0.1%3A{silent}"))
    code, line, report = verify_cli(verifier_env(hosting["tmp"], "f", f"127.0.0.1:{silent}"), moved, hosting["tmp"])
    assert code == 3 and "could not be fetched" in line, line
    # A verifier holding the documents itself needs no network.
    did_url = f"http://127.0.0.1:{hosting['port']}/issuers/acme/did.json"
    list_url = document["credentialStatus"]["statusListCredential"]
    (tmp_path / "did.json").write_text(hosting["client"].get(did_url).text)
    (tmp_path / "list.json").write_text(hosting["client"].get(list_url).text)
    code, line, _ = verify_cli(env, document, hosting["tmp"], "--offline",
                               "--document", f"https://127.0.0.1:{hosting['port']}/issuers/acme/did.json={tmp_path / 'did.json'}",
                               "--document", f"{list_url}={tmp_path / 'list.json'}")
    assert code == 3, line  # the DID document was given for the https URL; the listed host is fetched over http
    code, line, _ = verify_cli(env, document, hosting["tmp"], "--offline", "--document", f"{did_url}={tmp_path / 'did.json'}",
                               "--document", f"{list_url}={tmp_path / 'list.json'}")
    assert code == 0 and line.startswith("VALID"), line


def test_answers_are_cached_in_the_registrys_store(hosting):
    env = verifier_env(hosting["tmp"], "g", f"127.0.0.1:{hosting['port']}")
    registry = open_registry(env)
    try:
        assert registry.queries.verify(hosting["kept"]).verdict == "VALID"
        # The same answers now come from the cache: still VALID offline? No: offline fetches
        # nothing, cache included, so a verifier that asks for offline gets exactly that.
        assert registry.queries.verify(hosting["kept"], offline=True).verdict == "INDETERMINATE"
        cached = registry.queries._verifier.fetcher.cache.get(f"http://127.0.0.1:{hosting['port']}/issuers/acme/did.json")
        assert cached is not None and cached[2]  # fresh
        assert json.loads(cached[0])["id"] == hosting["did"]
    finally:
        registry.close()

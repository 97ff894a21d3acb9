"""Errors by layer: a rule of the registry refused (409/422, exit 2), the input was unusable
(400/422 naming the field, exit 2), or the registry itself failed (500 with a problem id and a
logged traceback, exit 70): a fault of the registry is never reported as the user's mistake."""

from __future__ import annotations

import json
import logging
import os
import stat

import pytest
from litestar.testing import TestClient

from registry import cli
from registry.api import create_app
from registry.commands import Actor
from registry.keystore import Keystore

PROBLEM = "application/problem+json"


class BrokenCustody:
    """Key custody that holds keys but fails when asked to sign: a fault inside the registry."""

    def __init__(self, keystore: Keystore) -> None:
        self.keystore = keystore

    def generate(self) -> str:
        return self.keystore.generate()

    def holds(self, public_key_multibase: str) -> bool:
        return True

    def recipient_reference(self, email: str) -> str:
        return self.keystore.recipient_reference(email)

    def signer(self, public_key_multibase: str, verification_method: str):
        class Signer:
            def sign(self, data: bytes) -> bytes:
                raise RuntimeError("the signing device is unplugged")

        signer = Signer()
        signer.verification_method = verification_method
        return signer


@pytest.fixture
def broken(open_registry, tmp_path):
    registry = open_registry(custody=BrokenCustody(Keystore(tmp_path / "keys")))
    registry.commands.issuers.register(slug="acme", name="Acme", actor=Actor("test"))
    return registry


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    return response.json()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_an_internal_fault_is_a_500_with_a_problem_id_and_a_logged_traceback(broken):
    key = broken.access.keys.create(issuer="acme")[0]
    broken.commands.issuers.register(slug="partner", name="Partner", actor=Actor("test"))
    handler = Records()
    logging.getLogger("registry.api").addHandler(handler)
    try:
        with TestClient(create_app(broken)) as client:
            response = client.post("/endorsements", json={"subject": "partner", "comment": "x"},
                                   headers={"Authorization": f"Bearer {key}"})
    finally:
        logging.getLogger("registry.api").removeHandler(handler)
    body = problem(response, 500)
    assert body["problem_id"] and body["problem_id"] in body["detail"]
    assert "unplugged" not in response.text  # nothing of the internals is shown
    logged = [r for r in handler.records if body["problem_id"] in r.getMessage()]
    assert logged and logged[0].exc_info and "unplugged" in str(logged[0].exc_info[1])


def test_domain_refusals_and_input_errors_keep_their_own_statuses(registry):
    key = registry.access.keys.create(issuer=None)[0]
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(registry)) as client:
        client.post("/issuers", json={"slug": "acme", "name": "Acme"}, headers=auth)
        # A rule: the slug is taken (409), a deactivation needs a reason (422).
        assert problem(client.post("/issuers", json={"slug": "acme", "name": "Again"}, headers=auth), 409)
        assert "reason" in problem(client.post("/issuers/acme/deactivate", json={"reason": " "}, headers=auth),
                                   422)["detail"]
        # Input: a cursor this API never handed out, a moment without an offset (400, field named).
        assert problem(client.get("/issuers", params={"cursor": "abc"}), 400)["field"] == "cursor"
        assert problem(client.get("/endorsements", params={"of": "acme", "at": "2026-05-01T12:00:00"}),
                       400)["field"] == "at"
        assert problem(client.post("/issuers", json={"slug": "x", "name": "X"},
                                   headers={**auth, "Idempotency-Key": "k" * 300}), 400)["field"] == "Idempotency-Key"
        # A well-formed body with a wrong field: 422 naming it.
        assert problem(client.post("/issuers", json={"slug": 1, "name": "X"}, headers=auth), 422)["field"] == "slug"


def test_the_command_line_blames_itself_for_its_own_faults(broken, open_registry, tmp_path, registry_environ,
                                                           monkeypatch, capsys):
    for name, value in registry_environ.items():
        monkeypatch.setenv(name, value)
    # Each command opens its registry (and closes it): here one whose key custody fails to sign.
    monkeypatch.setattr("registry.bootstrap.open_registry",
                        lambda *a, **k: open_registry(custody=BrokenCustody(Keystore(tmp_path / "keys"))))
    status = cli.main(["endorse", "--by", "acme", "--subject", "acme-2", "--comment", "x"])
    assert status == 2  # the subject does not exist: the user's input
    assert capsys.readouterr().err.count("\n") == 1

    status = cli.main(["endorsement", "withdraw", "not-a-uuid"])
    assert status == 2

    assert cli.main(["issuer", "register", "--slug", "partner", "--name", "Partner"]) == 0
    capsys.readouterr()
    status = cli.main(["endorse", "--by", "partner", "--subject", "acme", "--comment", "x"])
    err = capsys.readouterr().err
    assert status == cli.INTERNAL_ERROR
    assert err.count("\n") == 1 and "internal error RuntimeError (problem " in err
    problem_id = err.split("(problem ", 1)[1].split(")", 1)[0]
    log = os.path.join(registry_environ["REGISTRY_HOME"], "registry.log")
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    with open(log, encoding="utf-8") as text:
        logged = text.read()
    assert f"problem {problem_id}" in logged and "the signing device is unplugged" in logged
    assert "Traceback" in logged


def test_usage_and_settings_errors_are_one_line_and_exit_2(registry_environ, monkeypatch, capsys):
    for name, value in registry_environ.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["issuer", "show"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    monkeypatch.setenv("REGISTRY_PUBLIC_URL", "ftp://badges.example.org")
    assert cli.main(["issuer", "list"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "REGISTRY_PUBLIC_URL" in err
    monkeypatch.setenv("REGISTRY_PUBLIC_URL", "https://badges.example.org")
    monkeypatch.setenv("REGISTRY_API_RATE_PER_MINUTE", "0")
    assert cli.main(["issuer", "list"]) == 2
    assert "REGISTRY_API_RATE_PER_MINUTE" in capsys.readouterr().err


def test_json_output_of_a_refusal_is_still_one_line_on_stderr(registry_environ, monkeypatch, capsys):
    for name, value in registry_environ.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["--json", "issuer", "show", "nobody"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip() == "registry: no issuer with slug 'nobody'"
    assert cli.main(["--json", "issuer", "register", "--slug", "acme", "--name", "Acme"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "acme"

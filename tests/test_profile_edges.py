"""Profile updates and deactivation through the command line and the HTTP API: the organisation
itself (or the operator) may, another organisation's key may not, and nothing is stored then."""

from __future__ import annotations

import json

from litestar.testing import TestClient

from registry import cli
from registry.api import create_app


def test_the_command_line_updates_and_deactivates_an_organisation(registry_environ, monkeypatch, capsys):
    for name, value in registry_environ.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["issuer", "register", "--slug", "acme", "--name", "Acme"]) == 0
    assert cli.main(["issuer", "update", "acme", "--name", "Acme Academy", "--url", "https://acme.example"]) == 0
    assert cli.main(["--json", "issuer", "show", "acme"]) == 0
    capsys.readouterr()
    assert cli.main(["--json", "issuer", "show", "acme"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert (shown["name"], shown["url"], shown["deactivated_at"]) == ("Acme Academy", "https://acme.example", None)

    assert cli.main(["issuer", "deactivate", "acme"]) == 2  # --reason is required
    assert cli.main(["issuer", "deactivate", "acme", "--reason", "merged"]) == 0
    assert cli.main(["issuer", "deactivate", "acme", "--reason", "again"]) == 2
    assert "deactivated" in capsys.readouterr().err.splitlines()[-1]
    assert cli.main(["--json", "issuer", "show", "acme"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["deactivated_at"] and {k["state"] for k in shown["keys"]} == {"retired"}
    assert cli.main(["issuer", "update", "acme", "--name", "Too late"]) == 2


def test_the_api_lets_only_the_organisation_or_the_operator_change_its_profile(registry):
    admin = registry.access.keys.create(issuer=None)[0]
    with TestClient(create_app(registry)) as client:
        def call(method: str, path: str, body: dict, key: str):
            return client.request(method, path, json=body, headers={"Authorization": f"Bearer {key}"})

        for slug in ("acme", "other"):
            assert call("POST", "/issuers", {"slug": slug, "name": slug.title()}, admin).status_code == 201
        acme = registry.access.keys.create(issuer="acme")[0]
        other = registry.access.keys.create(issuer="other")[0]

        before = registry.queries.last_position()
        assert call("PATCH", "/issuers/acme", {"name": "Not yours"}, other).status_code == 403
        assert call("POST", "/issuers/acme/deactivate", {"reason": "not yours"}, other).status_code == 403
        assert registry.queries.last_position() == before

        response = call("PATCH", "/issuers/acme", {"description": "Courses for teams"}, acme)
        assert response.status_code == 200 and response.json()["id"] == "acme"
        assert client.get("/issuers/acme").json()["description"] == "Courses for teams"
        assert client.get("/issuers/acme/profile").json()["description"] == "Courses for teams"
        assert call("PATCH", "/issuers/acme", {"colour": "red"}, acme).status_code == 422

        assert call("POST", "/issuers/other/deactivate", {"reason": "closed"}, admin).status_code == 200
        assert client.get("/issuers/other").json()["deactivated_at"]
        assert call("POST", "/issuers/other/deactivate", {"reason": "closed"}, admin).status_code == 409
        # A deactivated organisation defines nothing more.
        assert call("POST", "/achievements", {"definition": {
            "name": "X", "description": "Y", "criteria": {"narrative": "Z"}}}, other).status_code in (409, 422)

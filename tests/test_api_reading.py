"""Read-side endpoints through HTTP (SQLite and PostgreSQL): trust paths and anchors, projection
positions and status lists."""

from __future__ import annotations

from registry.commands import Actor
from test_api_support import api, api_factory, assert_problem  # noqa: F401


def test_trust_path_and_anchors(api):
    acme = api.register("acme")
    partner = api.register("partner")
    api.register("loner")
    api.ok("/endorsements", {"subject": "acme", "comment": "Good"}, partner, 201)
    path = api.client.get("/trust/paths", params={"from": "partner", "to": "acme"}).json()
    assert path["found"] is True and [(h["endorser"], h["subject"]) for h in path["hops"]] == [("partner", "acme")]
    none = api.client.get("/trust/paths", params={"from": "loner", "to": "acme"}).json()
    assert none == {"found": False, "hops": []}
    assert_problem(api.client.get("/trust/paths", params={"from": "partner", "to": "nobody"}), 404)
    assert_problem(api.client.get("/trust/paths", params={"from": "partner"}), 400, field="to")
    assert api.client.get("/trust/anchors").json() == []
    api.registry.commands.trust.add_anchor("partner", actor=Actor("test"))
    assert [a["slug"] for a in api.client.get("/trust/anchors").json()] == ["partner"]
    assert acme


def test_projection_positions(api):
    api.register("acme")
    positions = api.client.get("/projections").json()
    assert positions and all({"name", "position", "lag"} <= set(p) for p in positions)


def test_status_list_is_signed_and_cacheable(api):
    api.register("acme")
    response = api.client.get("/status-lists/acme/1")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vc+ld+json") and response.headers["etag"]
    assert "BitstringStatusListCredential" in response.json()["type"]
    assert_problem(api.client.get("/status-lists/acme/99"), 404)

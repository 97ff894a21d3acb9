"""Fixtures for the HTTP API tests (imported by the test_api_* modules): a Registry built by the
composition root over the test's store (the `open_registry` fixture: SQLite and PostgreSQL), the
Litestar app over it, and API keys made as `registry apikey create` makes them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from litestar.testing import TestClient

from registry.access import ApiKeys
from registry.api import create_app
from registry.bootstrap import Registry

PUBLIC_URL = "https://badges.test"
LEARNER_DID = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
PROBLEM = "application/problem+json"


def definition(name: str) -> dict:
    return {"name": name, "description": f"The holder shows {name.lower()}.",
            "criteria": {"narrative": f"Assessed on {name.lower()}."}}


@dataclass
class Api:
    client: TestClient
    registry: Registry
    keys: ApiKeys
    admin: str

    def key_for(self, slug: str | None) -> str:
        return self.keys.create(issuer=slug)[0]

    @staticmethod
    def auth(key: str, **headers: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}", **headers}

    def post(self, path: str, body: object, key: str | None = None, **headers: str):
        return self.client.post(path, json=body, headers=self.auth(key or self.admin, **headers))

    def ok(self, path: str, body: object, key: str | None = None, status: int | None = None) -> dict:
        response = self.post(path, body, key)
        assert response.status_code in ((status,) if status else (200, 201)), response.text
        return response.json()

    def register(self, slug: str) -> str:
        """An issuer and a key that acts for it."""
        self.ok("/issuers", {"slug": slug, "name": slug.title()}, status=201)
        return self.key_for(slug)

    def define(self, key: str, name: str = "Teamwork") -> str:
        return self.ok("/achievements", {"definition": definition(name)}, key, status=201)["id"]

    def issue(self, key: str, achievement: str, recipient: str = "ada@example.org") -> dict:
        return self.ok("/credentials", {"recipient": recipient, "achievement": achievement}, key, status=201)


@pytest.fixture
def api_factory(open_registry) -> Iterator:
    """Build an Api: `env` overrides the registry's environment (e.g. the rate limit,
    REGISTRY_API_RATE_PER_MINUTE and REGISTRY_API_BURST); other options go to create_app
    (stream_seconds, poll_seconds)."""
    opened: list[TestClient] = []

    def build(env: dict[str, str] | None = None, **options) -> Api:
        registry = open_registry(**(env or {}))
        client = TestClient(create_app(registry, **options))
        client.__enter__()
        opened.append(client)
        keys = registry.access.keys
        return Api(client, registry, keys, keys.create(issuer=None)[0])

    yield build
    for client in opened:
        client.__exit__(None, None, None)


@pytest.fixture
def api(api_factory) -> Api:
    return api_factory()


def assert_problem(response, status: int, field: str | None = None, detail: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if field is not None:
        assert body.get("field") == field, body
    if detail is not None:
        assert detail in body["detail"], body
    return body

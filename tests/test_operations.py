"""What an orchestrator and a monitoring system ask of every API host: /healthz (alive), /readyz (the
store answers, the read models keep up, nothing quarantined) and /metrics (Prometheus text: requests by
route template, signatures by custody, events, projection lag, the log's checkpoint size)."""

from __future__ import annotations

import re

import pytest
from prometheus_client.parser import text_string_to_metric_families
from test_api_support import api, api_factory  # noqa: F401

from registry.commands import Actor


@pytest.fixture
def store_kind() -> str:
    return "sqlite"


def samples(text: str) -> dict[tuple, float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_healthz_answers_without_asking_anything(api):
    answer = api.client.get("/healthz")
    assert answer.status_code == 200 and answer.json() == {"status": "up"}


@pytest.mark.parametrize("store_kind", ["sqlite", "postgres"])
def test_readyz_holds_traffic_back_while_the_read_models_lag(api_factory):
    api = api_factory(env={"REGISTRY_READY_MAX_LAG": "2"})
    assert api.client.get("/readyz").status_code == 200
    for slug in ("one", "two", "three"):  # written behind the read models' back: they catch up on a read
        api.registry.commands.issuers.register(slug=slug, name=slug.title(), actor=Actor("test"))
    behind = api.client.get("/readyz")
    assert behind.status_code == 503 and behind.headers["retry-after"] == "5"
    assert any(re.fullmatch(r"directory is \d+ events behind \(at most 2\)", p) for p in behind.json()["problems"])
    api.client.get("/issuers")  # a read brings them up to date
    ready = api.client.get("/readyz").json()
    assert ready["ready"] is True and set(ready["lag"].values()) == {0} and ready["position"] > 0


def test_metrics_count_requests_by_route_and_signatures_by_custody(api):
    key = api.register("acme")
    badge = api.define(key)
    credential = api.ok("/credentials", {"recipient": "ada@example.org", "achievement": badge}, key, status=201)["id"]
    for _ in range(3):
        assert api.client.get(f"/credentials/{credential}/status").status_code == 200
    api.client.get("/credentials/00000000-0000-4000-8000-000000000000/status")
    text = api.client.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain; version=")
    found = samples(text.text)
    route = "/credentials/{credential_id}/status"  # the route's template, whatever the id
    assert found[("registry_http_requests_total", (("method", "GET"), ("route", route), ("status", "2xx")))] >= 3
    assert found[("registry_http_requests_total", (("method", "GET"), ("route", route), ("status", "4xx")))] >= 1
    assert credential not in text.text  # ids never become labels
    assert found[("registry_signatures_total", (("custody", "file"),))] >= 2  # the credential and a checkpoint
    assert found[("registry_events", ())] == api.registry.store.max_position()
    assert found[("registry_projection_lag_events", (("projection", "credentials"),))] == 0
    assert found[("registry_log_checkpoint_size", ())] >= 1

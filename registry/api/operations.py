"""What an orchestrator and a monitoring system ask: `/healthz` (the process answers), `/readyz` (the
store answers and every read model is within REGISTRY_READY_MAX_LAG events of the log, none with a
quarantined event), and `/metrics` (Prometheus: request rates and latencies by route, from Litestar's
Prometheus middleware; signatures by custody, registry.metrics; events, projection lag and the log's
checkpoint size, read when scraped)."""

from __future__ import annotations

import os
from typing import Any

import time

from litestar import Request, Response, get
from litestar.di import NamedDependency
from prometheus_client import (REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, multiprocess)

from registry.errors import Unavailable
from registry.projections import Queries

PATHS = ("/healthz", "/readyz", "/metrics")

REQUESTS = Counter("registry_http_requests", "HTTP requests answered, by method, route and status class",
                   ["method", "route", "status"])
LATENCY = Histogram("registry_http_request_seconds", "Time to answer an HTTP request, by method and route",
                    ["method", "route"], buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10))


class RequestMetrics:
    """ASGI middleware counting requests and timing them by route template (never by id: a label per
    credential would grow without bound). Litestar's own Prometheus middleware cost the status
    endpoint a third of its throughput (6,053 against 9,246 req/s in one run); this one looks each
    (method, route, status) series up once and then only increments it."""

    def __init__(self, app) -> None:
        self.app = app
        self._series: dict[tuple, tuple] = {}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def sending(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("path_template")
            if route is not None and route not in PATHS:  # unrouted paths (404s of anything) are not series
                key = (scope["method"], route, status // 100)
                series = self._series.get(key)
                if series is None:
                    series = self._series[key] = (REQUESTS.labels(key[0], route, f"{key[2]}xx"),
                                                  LATENCY.labels(key[0], route))
                series[0].inc()
                series[1].observe(time.perf_counter() - start)

EVENTS = Gauge("registry_events", "Events in the store (its last log position)", multiprocess_mode="livemax")
LAG = Gauge("registry_projection_lag_events", "Events a read model has yet to apply", ["projection"],
            multiprocess_mode="livemax")
QUARANTINED = Gauge("registry_projection_quarantined_events", "Events a read model could not apply", ["projection"],
                    multiprocess_mode="livemax")
REPLICA_ANSWERS = Gauge("registry_replica_answers", "Reads a replica could serve, by who answered them (the "
                        "standby, or the primary when the standby was behind or out of reach), since start",
                        ["by"], multiprocess_mode="livesum")
LOG_SIZE = Gauge("registry_log_checkpoint_size", "Entries in the transparency log's latest signed checkpoint",
                 multiprocess_mode="livemax")


@get("/healthz", sync_to_thread=False, include_in_schema=True, tags=["operations"], cache=False,
     summary="The process answers (liveness): nothing else is asked")
def healthz() -> dict[str, str]:
    return {"status": "up"}


@get("/readyz", sync_to_thread=True, tags=["operations"], cache=False,
     summary="Ready for traffic: the store answers and the read models keep up with the log",
     description="503 with what is wrong when the store cannot be reached, a read model is more than "
                 "REGISTRY_READY_MAX_LAG events behind (default 1000), or one has a quarantined event.")
def readyz(request: Request, queries: NamedDependency[Queries]) -> Response[dict[str, Any]]:
    limit = request.app.state.get("ready_max_lag", 1000)
    try:
        position, projections, _ = queries.operations()
    except Unavailable as exc:
        return Response({"ready": False, "problems": [f"the store cannot be reached: {exc}"]}, status_code=503,
                        headers={"Retry-After": "5"})
    problems = [f"{p.name} is {p.lag} events behind (at most {limit})" for p in projections if p.lag > limit]
    problems += [f"{p.name} has {len(p.quarantined)} quarantined events" for p in projections if p.quarantined]
    body = {"ready": not problems, "position": position, "lag": {p.name: p.lag for p in projections},
            "problems": problems}
    return Response(body, status_code=200 if not problems else 503, headers={} if not problems else {"Retry-After": "5"})


# Litestar adds "; charset=utf-8" to a text type: with it this is prometheus_client's CONTENT_TYPE_LATEST.
@get("/metrics", sync_to_thread=True, tags=["operations"], cache=False, media_type="text/plain; version=1.0.0",
     summary="Prometheus metrics: requests by route, signatures, events, projection lag, log size")
def metrics(queries: NamedDependency[Queries]) -> Response[bytes]:
    try:
        position, projections, checkpoint = queries.operations()
        EVENTS.set(position)
        for found in projections:
            LAG.labels(projection=found.name).set(found.lag)
            QUARANTINED.labels(projection=found.name).set(len(found.quarantined))
        LOG_SIZE.set(checkpoint)
        for by, count in getattr(queries, "answered", {}).items():  # with REGISTRY_REPLICA_DATABASE_URL
            REPLICA_ANSWERS.labels(by=by).set(count)
    except Unavailable:
        pass  # the store is out of reach: the gauges keep their last values, the counters still count
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # several workers: add up what each wrote
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry))


HANDLERS = [healthz, readyz, metrics]

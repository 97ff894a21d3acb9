"""The HTTP API's composition: `create_app(registry)` builds the Litestar app over a Registry;
`app_from_environment` is the factory each `registry serve` worker imports."""

from __future__ import annotations

import os
from collections.abc import Mapping

from eventsourcing.utils import strtobool
from litestar import Litestar
from litestar.datastructures import State
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from registry.api.access import ApiKeys
from registry.api.achievements import AchievementController
from registry.api.credentials import CredentialController
from registry.api.endorsements import EndorsementController
from registry.api.events import EventController
from registry.api.http import Api
from registry.api.idempotency import IdempotencyRecords
from registry.api.issuers import IssuerController
from registry.api.limits import RateLimiter
from registry.api.pages import pages_router, template_config
from registry.api.problems import HANDLERS
from registry.api.reading import read_side
from registry.api.sql import Sql
from registry.api.verification import verify
from registry.application import Registry
from registry.application.registry import MAX_DOCUMENT_BYTES

DEFAULT_RATE_PER_MINUTE = 120


def create_app(registry: Registry, *, rate_per_minute: int = DEFAULT_RATE_PER_MINUTE,
               burst: int | None = None, stream_seconds: float = 300.0,
               poll_seconds: float = 0.5) -> Litestar:
    sql = Sql(registry)
    create_tables = bool(strtobool(registry.env.get("CREATE_TABLE") or "y"))
    api = Api(registry=registry, keys=ApiKeys(sql, create_table=create_tables),
              idempotency=IdempotencyRecords(sql, create_table=create_tables),
              limiter=RateLimiter(rate_per_minute, burst=burst),
              stream_seconds=stream_seconds, poll_seconds=poll_seconds)
    return Litestar(
        route_handlers=[IssuerController, AchievementController, CredentialController,
                        EndorsementController, EventController, verify, *read_side(registry), pages_router()],
        template_config=template_config(),
        state=State({"api": api}),
        exception_handlers=HANDLERS,
        request_max_body_size=MAX_DOCUMENT_BYTES,
        openapi_config=OpenAPIConfig(
            title="badge-registry", version="0.1.0",
            description="Open Badges 3.0 endorsement and trust registry: public documents, reads, "
                        "the event feed, and writes authenticated by API key (Authorization: Bearer).",
            components=Components(security_schemes={
                "apiKey": SecurityScheme(type="http", scheme="bearer", description="an API key from `registry apikey create`"),
            }),
        ),
    )


def app_from_environment(environ: Mapping[str, str] | None = None) -> Litestar:
    """One app per worker process, over the store the environment names (the CLI's composition)."""
    from registry.bootstrap import open_registry

    environ = os.environ if environ is None else environ
    rate = environ.get("REGISTRY_API_RATE_PER_MINUTE") or str(DEFAULT_RATE_PER_MINUTE)
    if not rate.isdigit() or int(rate) < 1:
        raise ValueError(f"REGISTRY_API_RATE_PER_MINUTE must be a positive whole number, got {rate!r}")
    return create_app(open_registry(environ), rate_per_minute=int(rate))

"""The HTTP API's composition: `create_app(registry)` builds the Litestar app over what the
composition root built (commands, queries, access), injected into every controller;
`app_from_environment` is the factory each `registry serve` worker imports."""

from __future__ import annotations

from collections.abc import Mapping

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from registry.api.achievements import AchievementController
from registry.api.batching import Batched
from registry.api.contexts import HANDLERS as CONTEXTS
from registry.api.apidocs import assets_router, render_plugins
from registry.api.credential_page import HANDLERS as CREDENTIAL_PAGE
from registry.api.credentials import CredentialController
from registry.api.endorsements import EndorsementController
from registry.api.events import EventController, Streaming
from registry.api.head import HeadAsGet
from registry.api.images import HANDLERS as IMAGES
from registry.api.imports import HANDLERS as IMPORTS
from registry.api.issuers import IssuerController
from registry.api.kpis import HANDLERS as KPIS
from registry.api.pages import pages_router, template_config
from registry.api.http import screening
from registry.api.problems import HANDLERS
from registry.api.log import HANDLERS as LOG
from registry.api.operations import HANDLERS as OPERATIONS
from registry.api.operations import RequestMetrics
from registry.api.positions import ReadYourWrites
from registry.api.reading import HANDLERS as READ_SIDE
from registry.bootstrap import Registry, open_registry
from registry.commands import MAX_DOCUMENT_BYTES


def create_app(registry: Registry, *, stream_seconds: float = 300.0, poll_seconds: float = 0.5,
               owns_registry: bool = False) -> Litestar:
    """The app over `registry`; with `owns_registry` the app closes it when it shuts down."""
    def provide(value: object) -> Provide:
        return Provide(lambda: value, sync_to_thread=False, use_cache=True)

    return HeadAsGet(
        route_handlers=[IssuerController, AchievementController, CredentialController,
                        EndorsementController, EventController, *READ_SIDE, *LOG, *KPIS, *IMAGES, *IMPORTS, *CONTEXTS, *CREDENTIAL_PAGE, *OPERATIONS, pages_router(),
                        assets_router()],
        dependencies={
            "commands": provide(registry.commands), "queries": provide(registry.queries),
            "access": provide(registry.access), "config": provide(registry.settings.config),
            "streaming": provide(Streaming(stream_seconds, poll_seconds)),
        },
        # The hot read (a credential's status) takes `queries` from here instead of by injection:
        # resolving a dependency costs each request a cleanup group, about 9% of that endpoint.
        state=State({"queries": registry.queries, "commands": registry.commands,
                     "ready_max_lag": registry.settings.ready_max_lag,
                     # PostgreSQL's hot reads, a round trip shared by concurrent requests:
                     "statuses": Batched(registry.queries.credential_statuses),
                     "log_versions": Batched(lambda keys: dict.fromkeys(keys, registry.queries.log_version()))}),
        middleware=[RequestMetrics, ReadYourWrites],
        template_config=template_config(),
        exception_handlers=HANDLERS,
        before_request=screening(registry.access),
        request_max_body_size=MAX_DOCUMENT_BYTES,
        on_shutdown=[registry.close] if owns_registry else [],
        openapi_config=OpenAPIConfig(
            title="badge-registry", version="0.1.0",
            render_plugins=render_plugins(),
            description="Open Badges 3.0 endorsement and trust registry: public documents, reads, "
                        "the event feed, and writes authenticated by API key (Authorization: Bearer).",
            components=Components(security_schemes={
                "apiKey": SecurityScheme(type="http", scheme="bearer", description="an API key from `registry apikey create`"),
            }),
        ),
    )


def app_from_environment(environ: Mapping[str, str] | None = None) -> Litestar:
    """One app per worker process, over the store the environment names."""
    return create_app(open_registry(environ), owns_registry=True)

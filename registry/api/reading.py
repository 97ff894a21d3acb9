"""Endpoints over the read side and the status lists: trust paths and anchors, projection
positions, and the issuers' BitstringStatusListCredentials. Each is mounted only when the registry
in this build has the use case behind it (they are built alongside the API)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get
from litestar.params import FromPath, QueryParameter

from registry.api.http import READ_PROBLEMS, VC_LD_JSON, api_of, document_response
from registry.api.problems import BadParameter
from registry.application import Registry

At = Annotated[datetime | None, QueryParameter(description="ISO 8601 with offset; default now")]
STATUS_LIST_CACHE = "public, max-age=60"  # short: verifiers must see revocations soon


class TrustPath(msgspec.Struct):
    found: bool
    hops: list[Any]  # Hop: endorser, subject (slugs), their ids, the endorsements of the link


def aware(at: datetime | None) -> datetime | None:
    if at is not None and at.tzinfo is None:
        raise BadParameter("at", "a moment needs an offset, e.g. 2026-05-01T12:00:00Z")
    return at


@get("/trust/paths", sync_to_thread=True, responses=READ_PROBLEMS, tags=["trust"],
     summary="The shortest chain of standing endorsements from one organisation to another")
def trust_path(request: Request, source: Annotated[str, QueryParameter(name="from")],
               target: Annotated[str, QueryParameter(name="to")],
               max_depth: Annotated[int, QueryParameter(ge=1, le=10)] = 6, at: At = None) -> TrustPath:
    hops = api_of(request.app.state).registry.trust_path(source, target, max_depth=max_depth, at=aware(at))
    return TrustPath(found=hops is not None, hops=[msgspec.to_builtins(h) for h in hops or []])


@get("/trust/anchors", sync_to_thread=True, responses=READ_PROBLEMS, tags=["trust"],
     summary="The trust anchors standing now or at a moment")
def trust_anchors(request: Request, at: At = None) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(a) for a in api_of(request.app.state).registry.trust_anchors(aware(at))]


@get("/projections", sync_to_thread=True, responses=READ_PROBLEMS, tags=["projections"],
     summary="Each read model's position in the event log and how far it lags")
def projection_positions(request: Request) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(p) for p in api_of(request.app.state).registry.projection_status()]


@get("/status-lists/{slug:str}/{number:int}", sync_to_thread=True, responses=READ_PROBLEMS,
     media_type=VC_LD_JSON, tags=["status lists"], summary="An issuer's signed BitstringStatusListCredential")
def status_list(request: Request, slug: FromPath[str], number: FromPath[int]) -> Response[dict]:
    document = api_of(request.app.state).registry.status_list_credential(slug, number)
    return document_response(request, document, VC_LD_JSON, STATUS_LIST_CACHE)


def read_side(registry: Registry) -> list:
    """The handlers whose use cases this registry has."""
    wanted = {"trust_path": trust_path, "trust_anchors": trust_anchors,
              "projection_status": projection_positions, "status_list_credential": status_list}
    return [handler for use_case, handler in wanted.items() if hasattr(registry, use_case)]

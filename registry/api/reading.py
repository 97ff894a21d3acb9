"""Endpoints over the read side and the status lists: trust paths and anchors, projection
positions, the issuers' BitstringStatusListCredentials, and POST /verify."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import anyio
import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.http import READ_PROBLEMS, VC_LD_JSON, none_match
from registry.commands import Commands
from registry.errors import InputError
from registry.projections import Queries
from registry.vc import vc_jwt
from registry.vc.report import VerificationReport

At = Annotated[datetime | None, QueryParameter(description="ISO 8601 with offset; default now")]
STATUS_LIST_CACHE = "public, max-age=60"  # short: verifiers must see revocations soon


class TrustPath(msgspec.Struct):
    found: bool
    hops: list[Any]  # Hop: endorser, subject (slugs), their ids, the endorsements of the link


def aware(at: datetime | None) -> datetime | None:
    if at is not None and at.tzinfo is None:
        raise InputError("at", "a moment needs an offset, e.g. 2026-05-01T12:00:00Z")
    return at


@get("/trust/paths", sync_to_thread=True, responses=READ_PROBLEMS, tags=["trust"],
     summary="The shortest chain of standing endorsements from one organisation to another")
def trust_path(queries: NamedDependency[Queries], source: Annotated[str, QueryParameter(name="from")],
               target: Annotated[str, QueryParameter(name="to")],
               max_depth: Annotated[int, QueryParameter(ge=1, le=10)] = 6, at: At = None) -> TrustPath:
    hops = queries.trust_path(source, target, max_depth=max_depth, at=aware(at))
    return TrustPath(found=hops is not None, hops=[msgspec.to_builtins(h) for h in hops or []])


@get("/trust/anchors", sync_to_thread=True, responses=READ_PROBLEMS, tags=["trust"],
     summary="The trust anchors standing now or at a moment")
def trust_anchors(queries: NamedDependency[Queries], at: At = None) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(a) for a in queries.trust_anchors(aware(at))]


@get("/projections", sync_to_thread=True, responses=READ_PROBLEMS, tags=["projections"],
     summary="Each read model's position in the event log, how far it lags, and the events it quarantined",
     description="An event a projection could not apply is passed over and listed here with the reason; "
                 "answers about its aggregate are withheld (503) until an operator rebuilds the projection.")
def projection_positions(queries: NamedDependency[Queries]) -> list[dict[str, Any]]:
    return [msgspec.to_builtins(p) for p in queries.projection_status()]


@get("/status-lists/{slug:str}/{number:int}", responses=READ_PROBLEMS,
     media_type=VC_LD_JSON, tags=["status lists"], summary="An issuer's signed BitstringStatusListCredential",
     description="The same bytes (and strong ETag) until the next write to the registry; revalidate with "
                 "If-None-Match. Cacheable for 60 s: a revocation reaches verifiers within a minute.")
async def status_list(request: Request, slug: FromPath[str], number: FromPath[int]) -> Response[bytes]:
    commands: Commands = request.app.state.commands  # not injected: the hot read, as the status endpoint

    def respond(body: bytes, etag: str) -> Response[bytes]:
        headers = {"ETag": etag, "Cache-Control": STATUS_LIST_CACHE}
        if none_match(request.headers.get("if-none-match"), etag):
            return Response(content=b"", status_code=304, headers=headers, media_type=VC_LD_JSON)
        return Response(content=body, headers=headers, media_type=VC_LD_JSON)

    # Unchanged since the last write, this is a look at the log's last position and a dictionary:
    # on SQLite cheaper inline than the hop to a worker thread; on PostgreSQL a round trip, off the
    # loop, which concurrent requests share (registry.api.batching).
    if request.app.state.queries.local:
        return respond(*commands.status_lists.published(slug, number))
    version = await request.app.state.log_versions.ask(None)
    if version is not None:
        cached = commands.status_lists.cached(slug, number, version)
        if cached is not None:
            return respond(*cached)
    return respond(*await anyio.to_thread.run_sync(lambda: commands.status_lists.published(slug, number, version)))


@post("/verify", sync_to_thread=True, status_code=200, responses=READ_PROBLEMS, tags=["verification"],
      summary="Verify an OpenBadgeCredential or EndorsementCredential: verdict VALID, INVALID or INDETERMINATE",
      description="The body is the credential (a JSON object with an embedded proof) or a VC-JWT (OB 3.0's "
                  "JSON Web Token Proof Format) as a JSON string holding the compact JWS.")
def verify(queries: NamedDependency[Queries], data: JSONBody[dict[str, Any] | str],
           recipient: Annotated[str | None, QueryParameter(
               description="also check it was issued to this e-mail address or DID", max_length=320)] = None,
           offline: Annotated[bool, QueryParameter(
               description="fetch nothing: what needs a DID document or status list from elsewhere is "
                           "INDETERMINATE")] = False,
           ) -> VerificationReport:
    if isinstance(data, str) and not vc_jwt.is_compact(data):
        raise InputError("body", "a credential is a JSON object, or a JSON string holding a VC-JWT (compact JWS)")
    return queries.verify(data, recipient=recipient, offline=offline)


HANDLERS = [trust_path, trust_anchors, projection_positions, status_list, verify]

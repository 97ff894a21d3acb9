"""What every controller shares: the API's state, authentication by API key with per-key rate
limiting, idempotent writes, cacheable documents (ETag, Cache-Control) and cursor pagination."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio.to_thread
import msgspec
from litestar import Request, Response
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.openapi.datastructures import ResponseSpec

from registry.api.access import ApiKeys, Principal
from registry.api.idempotency import IdempotencyRecords, check_key, request_hash
from registry.api.limits import RateLimiter
from registry.api.problems import PROBLEM, BadParameter, Problem
from registry.application import Registry
from registry.domain import NotAuthorised

T = TypeVar("T")
JSON = "application/json"
LD_JSON = "application/ld+json"
DID_JSON = "application/did+json"
VC_LD_JSON = "application/vc+ld+json"
SHORT_CACHE = "public, max-age=300"
IMMUTABLE = "public, max-age=31536000, immutable"


@dataclass
class Api:
    """Everything a request handler needs, kept in app.state.api."""

    registry: Registry
    keys: ApiKeys
    idempotency: IdempotencyRecords
    limiter: RateLimiter
    stream_seconds: float  # how long one event stream stays open before the client reconnects
    poll_seconds: float


def api_of(state: State) -> Api:
    return state.api


def forbid(message: str) -> None:
    raise NotAuthorised(message)


# --- authentication ----------------------------------------------------------------------------------


async def authenticate(request: Request) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthorizedException("send an API key as 'Authorization: Bearer <key>'",
                                     headers={"WWW-Authenticate": 'Bearer realm="registry"'})
    api = api_of(request.app.state)
    principal = await anyio.to_thread.run_sync(api.keys.authenticate, key.strip())
    if principal is None:
        raise NotAuthorizedException("the API key is unknown or revoked",
                                     headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    wait = api.limiter.take(principal.key_id)
    if wait is not None:
        raise HTTPException(status_code=429, detail=f"rate limit of API key {principal.key_id} reached; retry in {wait} s",
                            headers={"Retry-After": str(wait)})
    return principal


WRITE = {"principal": Provide(authenticate)}
SECURITY = [{"apiKey": []}]


def problem_specs(*statuses: int) -> dict[int, ResponseSpec]:
    return {s: ResponseSpec(data_container=Problem, media_type=PROBLEM, description="problem details")
            for s in statuses}


WRITE_PROBLEMS = problem_specs(400, 401, 403, 404, 409, 413, 422, 429)
READ_PROBLEMS = problem_specs(400, 404, 422)


def acting_as(principal: Principal, slug: str | None, what: str) -> str:
    """The issuer a write acts for: an issuer key acts only for its own issuer."""
    if principal.admin:
        if not slug:
            raise BadParameter(what, f"an admin key must name the {what}")
        return slug
    if slug and slug != principal.issuer:
        forbid(f"the API key {principal.key_id} acts for {principal.issuer}, not {slug}")
    return principal.issuer


def require_admin(principal: Principal, what: str) -> None:
    if not principal.admin:
        forbid(f"only a registry admin key may {what}")


def require_issuer(principal: Principal, slug: str) -> None:
    if not principal.admin and principal.issuer != slug:
        forbid(f"the API key {principal.key_id} acts for {principal.issuer}, not {slug}")


# --- writes ------------------------------------------------------------------------------------------


async def perform(request: Request, principal: Principal, action: Callable[[], Any],
                  status: int = 200) -> Response:
    """Run a write in a worker thread (the event store is synchronous). With an Idempotency-Key,
    a repeat of the same request gets the stored answer and writes nothing."""
    api = api_of(request.app.state)
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is None:
        result = await anyio.to_thread.run_sync(action)
        return Response(content=msgspec.json.encode(result), status_code=status, media_type=JSON)
    key = check_key(idempotency_key)
    digest = request_hash(request.method, request.url.path, await request.body())

    def run() -> tuple[int, bytes, bool]:
        replay = api.idempotency.begin(principal.key_id, key, digest)
        if replay is not None:
            return replay.status, replay.body, True
        try:
            encoded = msgspec.json.encode(action())
        except BaseException:
            api.idempotency.release(principal.key_id, key)
            raise
        api.idempotency.finish(principal.key_id, key, status, encoded)
        return status, encoded, False

    code, body, replayed = await anyio.to_thread.run_sync(run)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(content=body, status_code=code, media_type=JSON, headers=headers)


# --- cacheable documents -------------------------------------------------------------------------------


def document_response(request: Request, document: dict | str, media_type: str,
                      cache_control: str = SHORT_CACHE) -> Response:
    """A public document with a strong ETag; a matching If-None-Match gets 304 without a body."""
    body = document.encode("utf-8") if isinstance(document, str) else msgspec.json.encode(document)
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Cache-Control": cache_control}
    wanted = [tag.strip() for tag in request.headers.get("if-none-match", "").split(",")]
    if etag in wanted or "*" in wanted:
        return Response(content=b"", status_code=304, headers=headers, media_type=media_type)
    return Response(content=body, status_code=200, headers=headers, media_type=media_type)


# --- cursor pagination ----------------------------------------------------------------------------------


CURSOR_PATTERN = r"^[0-9]{1,12}$"


def decode_cursor(cursor: str | None) -> int:
    """The log index after which a page starts. Lists follow the append-only log, so an index
    stays valid while new items arrive at the end (a cursor past the end gives an empty page)."""
    if not cursor:
        return -1
    if not cursor.isascii() or not cursor.isdigit() or len(cursor) > 12:
        raise BadParameter("cursor", f"{cursor!r} is not a cursor this API handed out")
    return int(cursor)


def encode_cursor(index: int) -> str:
    return str(index)


def paginate(items: Iterable[T], cursor: str | None, limit: int,
             keep: Callable[[T], bool] = lambda _: True) -> tuple[list[T], str | None]:
    """Items in log order after the cursor, `keep`-filtered, at most `limit`, and the next cursor."""
    after = decode_cursor(cursor)
    page: list[T] = []
    for index, item in enumerate(items):
        if index <= after or not keep(item):
            continue
        if len(page) == limit:
            return page, encode_cursor(last)
        page.append(item)
        last = index
    return page, None

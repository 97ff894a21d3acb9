"""What every controller shares: authentication by API key with per-key rate limiting, idempotent
writes, cacheable documents (ETag, Cache-Control), and the problem responses of the OpenAPI schema.
Controllers get `commands`, `queries` and `access` injected; they translate, the rest decides."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from typing import Any

import anyio.to_thread
import msgspec
from litestar import Request, Response
from litestar.di import NamedDependency, Provide
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.openapi.datastructures import ResponseSpec

from registry.access import Access, Principal, Replay, check_key, request_hash
from registry.api.problems import PROBLEM, Problem
from registry.commands import Actor
from registry.errors import InputError
from registry.vc import json_text

JSON = "application/json"
LD_JSON = "application/ld+json"
DID_JSON = "application/did+json"
VC_LD_JSON = "application/vc+ld+json"
SHORT_CACHE = "public, max-age=300"
IMMUTABLE = "public, max-age=31536000, immutable"
CURSOR_PATTERN = r"^[0-9]{1,15}$"


# --- what every request must be ----------------------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_RAW_CONTROL = re.compile(rb"%(?:[01][0-9A-Fa-f]|7[Ff])|[\x00-\x1f\x7f]")
_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")
# Reads are limited per client address; a verification costs what this many reads cost.
VERIFY_PATHS = frozenset({"/verify", "/pages/verify"})
VERIFY_COST = 10
# Bodies that are not JSON: an image's bytes (POST /images checks them itself: registry.vc.images).
BINARY_PATHS = frozenset({"/images", "/imports", "/imports/export"})  # and a credential to import, maybe a baked image


def screening(access: Access) -> Callable[[Request], Any]:
    """The hook run before every handler (`before_request`), over the registry's access."""
    reads = access.reads

    async def screen(request: Request) -> None:
        """Refuse what no store can hold and no decoder should meet. Control characters (NUL
        above all: PostgreSQL text cannot hold it) in the path or a query parameter, and a body
        that is not JSON as `registry.vc.json_text` reads it (nested too deep, a name twice in one
        object, a number out of range). The raw query string is searched first: the hot status
        read pays one regular-expression scan of a short string. Reads (and verifications) are
        limited per client address across all workers (writes: per API key, in `authenticate`)."""
        scope = request.scope
        path = scope["path"]
        if reads is not None and (request.method in ("GET", "HEAD") or path in VERIFY_PATHS):
            client = scope["client"][0] if scope.get("client") else "unknown"
            wait = reads.take(client, VERIFY_COST if request.method == "POST" else 1)
            if wait is not None:
                raise HTTPException(status_code=429, detail=f"read rate limit of {client} reached; retry in {wait} s",
                                    headers={"Retry-After": str(wait)})
        if _CONTROL.search(path):
            raise InputError("path", "contains a control character (such as NUL)")
        raw = scope.get("query_string", b"")
        if raw and _RAW_CONTROL.search(raw):
            for name, value in request.query_params.multi_items():
                if _CONTROL.search(name) or _CONTROL.search(str(value)):
                    raise InputError(name, "contains a control character (such as NUL)")
        if (request.method in ("POST", "PUT", "PATCH") and path not in BINARY_PATHS
                and not request.headers.get("content-type", "").startswith(_FORMS)):
            body = await request.body()
            try:
                if body:  # an empty body is the handler's to accept or refuse
                    json_text.check(body)
            except json_text.JsonTextError as exc:
                raise InputError("body", f"not valid JSON: {exc}") from None

    return screen


# --- authentication ----------------------------------------------------------------------------------


async def authenticate(request: Request, access: NamedDependency[Access]) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise NotAuthorizedException("send an API key as 'Authorization: Bearer <key>'",
                                     headers={"WWW-Authenticate": 'Bearer realm="registry"'})
    principal = await anyio.to_thread.run_sync(access.keys.authenticate, key.strip())
    if principal is None:
        raise NotAuthorizedException("the API key is unknown or revoked",
                                     headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    wait = access.limiter.take(principal.key_id)
    if wait is not None:
        raise HTTPException(status_code=429, detail=f"rate limit of API key {principal.key_id} reached; retry in {wait} s",
                            headers={"Retry-After": str(wait)})
    return principal


class Write:
    """One authenticated write: who makes it (`actor`, from the API key) and how it runs: in a
    worker thread (the event store is synchronous), idempotently when the client sent an
    Idempotency-Key (a repeat of the same request gets the stored answer and writes nothing)."""

    def __init__(self, request: Request, principal: Principal, access: Access) -> None:
        self.request = request
        self.principal = principal
        self.access = access

    @property
    def actor(self) -> Actor:
        return self.principal.actor

    def owner(self, slug: str | None, field: str) -> str:
        """The organisation a write names: an issuer's key may leave it out (its own); an admin key
        must name it. Whether the key may act for it is the commands' policy to decide."""
        if slug:
            return slug
        if self.principal.admin:
            raise InputError(field, f"an admin key must name the {field}")
        return self.principal.issuer

    async def __call__(self, action: Callable[[], Any], status: int = 200) -> Response:
        return await perform(self.request, self.principal, self.access, action, status)


async def provide_write(request: Request, principal: NamedDependency[Principal],
                        access: NamedDependency[Access]) -> Write:
    return Write(request, principal, access)


WRITE = {"principal": Provide(authenticate), "write": Provide(provide_write)}
SECURITY = [{"apiKey": []}]


def problem_specs(*statuses: int) -> dict[int, ResponseSpec]:
    return {s: ResponseSpec(data_container=Problem, media_type=PROBLEM, description="problem details")
            for s in statuses}


WRITE_PROBLEMS = problem_specs(400, 401, 403, 404, 409, 413, 422, 429)
READ_PROBLEMS = problem_specs(400, 404, 422)
# What every write route declares: the key and its write, the security scheme, its problems.
WRITES = {"dependencies": WRITE, "security": SECURITY, "responses": WRITE_PROBLEMS}


# --- writes ------------------------------------------------------------------------------------------


async def perform(request: Request, principal: Principal, access: Access, action: Callable[[], Any],
                  status: int = 200) -> Response:
    """Run a write in a worker thread (the event store is synchronous). With an Idempotency-Key,
    a repeat of the same request gets the stored answer and writes nothing."""
    idempotency_key = request.headers.get("idempotency-key")
    if idempotency_key is None:
        result = await anyio.to_thread.run_sync(action)
        return Response(content=msgspec.json.encode(result), status_code=status, media_type=JSON)
    key = check_key(idempotency_key)
    digest = request_hash(request.method, request.url.path, await request.body())
    records = access.idempotency

    def run() -> tuple[int, bytes, bool]:
        claim = records.begin(principal.key_id, key, digest)
        if isinstance(claim, Replay):
            return claim.status, claim.body, True
        return status, records.perform(claim, action, status), False

    code, body, replayed = await anyio.to_thread.run_sync(run)
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return Response(content=body, status_code=code, media_type=JSON, headers=headers)


# --- cacheable documents -------------------------------------------------------------------------------


def etag_of(body: bytes) -> str:
    """A strong ETag: the first 128 bits of the body's SHA-256."""
    return f'"{hashlib.sha256(body).hexdigest()[:32]}"'


def none_match(if_none_match: str | None, etag: str) -> bool:
    """True when If-None-Match names `etag` (RFC 9110 13.1.2: a comma-separated list of entity
    tags or `*`, compared weakly, so W/"x" matches "x")."""
    if not if_none_match:
        return False
    for tag in if_none_match.split(","):
        tag = tag.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False


def document_response(request: Request, document: dict | str, media_type: str,
                      cache_control: str = SHORT_CACHE) -> Response:
    """A public document with a strong ETag; a matching If-None-Match gets 304 without a body."""
    body = document.encode("utf-8") if isinstance(document, str) else msgspec.json.encode(document)
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": cache_control}
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(content=b"", status_code=304, headers=headers, media_type=media_type)
    return Response(content=body, status_code=200, headers=headers, media_type=media_type)

"""Credentials: issuing (one, or a batch in one transaction), revoking, suspending, reinstating,
and the public status of a credential at any moment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

import anyio.to_thread
import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.http import JSON, READ_PROBLEMS, WRITES, Write, etag_of, none_match
from registry.api.issuers import written
from registry.api.positions import names_position
from registry.api.schemas import (
    AwardRequest,
    BatchOut,
    BatchRequest,
    CredentialStatusOut,
    OptionalReason,
    Reason,
    ReissueRequest,
    WrittenOut,
)
from registry.commands import MAX_BATCH, MAX_BATCH_BYTES, Award, Commands, utc_now
from registry.domain import NotFound
from registry.errors import InputError
from registry.projections import NOT_ISSUED, CredentialStatus, Queries

# A status can change at any time: caches keep it but ask again each time (a 304 is cheap).
CURRENT_STATUS_CACHE = "public, no-cache"
# The status at a moment long past is settled: no event is logged with an earlier time than now,
# and a write in flight carries a time a moment ago, not minutes ago.
SETTLED_AFTER = timedelta(minutes=5)
SETTLED_STATUS_CACHE = "public, max-age=86400"
STATUS_RESPONSES = {
    200: ResponseSpec(data_container=CredentialStatusOut, media_type=JSON,
                      description="the status, with ETag and Cache-Control"),
    304: ResponseSpec(data_container=None, description="unchanged since the ETag in If-None-Match"),
    **READ_PROBLEMS,
}
_encode = msgspec.json.Encoder().encode
_instant = datetime.fromisoformat


def award(data: AwardRequest) -> Award:
    evidence = tuple(data.evidence) if isinstance(data.evidence, list) else data.evidence
    return Award(data.recipient, data.achievement, data.result, data.valid_until, evidence, data.score,
                 data.valid_from, tuple(data.results), tuple(data.credential_schema))


def status_out(found: CredentialStatus) -> CredentialStatusOut:
    """The wire answer; the read model keeps times as ISO 8601 UTC text."""
    return CredentialStatusOut(
        id=found.credential_id, at=found.at and _instant(found.at), status=found.status,
        valid=found.valid, expired=found.expired, reason=found.reason, since=_instant(found.since),
        issuer_id=found.issuer_id, achievement_id=found.achievement_id,
        achievement_version=found.achievement_version, issued_at=_instant(found.issued_at),
        valid_from=_instant(found.valid_from),
        valid_until=found.valid_until and _instant(found.valid_until),
        status_list=found.status_list, status_list_index=found.status_list_index)


class Answer:
    """A finished ASGI response, its headers encoded once. The status endpoint returns it as is:
    Litestar's response layering and header bookkeeping were a fifth of the endpoint's time."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, body: bytes, etag: str, cache_control: str) -> None:
        self.status = status
        self.body = body
        self.headers = [(b"content-type", b"application/json"), (b"etag", etag.encode()),
                        (b"cache-control", cache_control.encode())]
        if status == 200:
            self.headers.append((b"content-length", str(len(body)).encode()))

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": self.body})


def revalidated(request: Request, body: bytes, cache_control: str) -> Answer:
    """The answer with a strong ETag of its bytes; a matching If-None-Match gets 304, no body."""
    etag = etag_of(body)
    for name, value in request.scope["headers"]:  # raw: building Headers costs more than this
        if name == b"if-none-match" and none_match(value.decode("latin-1"), etag):
            return Answer(304, b"", etag, cache_control)
    return Answer(200, body, etag, cache_control)


class CredentialController(Controller):
    path = "/credentials"
    tags = ["credentials"]

    @get("/{credential_id:str}/status", responses=STATUS_RESPONSES,
         summary="A credential's status now, or at a moment (?at=, with an offset)",
         description="From the credentials projection, as of every write that returned before the "
                     "request. Revalidate with If-None-Match: the answer carries an ETag.")
    async def status(self, request: Request, credential_id: FromPath[str],
                     at: Annotated[datetime | None, QueryParameter(description="ISO 8601 with offset")] = None,
                     ) -> Answer:
        if at is not None and at.tzinfo is None:
            raise InputError("at", "a moment needs an offset, e.g. 2026-05-01T12:00:00Z")
        queries: Queries = request.app.state.queries  # not injected: see create_app

        def answer() -> Answer:
            found = queries.credential_status(credential_id, at)
            if found.status == NOT_ISSUED:
                raise NotFound(f"credential {found.credential_id} was not issued yet at {found.at}")
            settled = at is not None and at < utc_now() - SETTLED_AFTER
            return revalidated(request, _encode(status_out(found)),
                               SETTLED_STATUS_CACHE if settled else CURRENT_STATUS_CACHE)

        # The hot path. On SQLite the read is a freshness check and one indexed read of a local
        # file, tens of microseconds: cheaper inline than the hop to a worker thread. On
        # PostgreSQL it is a round trip, which must not hold up the event loop: concurrent
        # requests share one (registry.api.batching); what the batch leaves out is asked alone.
        if queries.local:
            return answer()
        if at is None and not names_position():  # a batch reads as its first request asked
            found = await request.app.state.statuses.ask(credential_id)
            if found is not None:
                return revalidated(request, _encode(status_out(found)), CURRENT_STATUS_CACHE)
        return await anyio.to_thread.run_sync(answer)

    @post("/", **WRITES, status_code=201, summary="Issue an OpenBadgeCredential")
    async def issue(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                    data: JSONBody[AwardRequest]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.credentials.issue(award(data), actor=write.actor)), status=201)

    @post("/batch", **WRITES, status_code=201, request_max_body_size=MAX_BATCH_BYTES,
          summary=f"Issue up to {MAX_BATCH:,} credentials in one transaction (all or nothing)")
    async def issue_batch(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                          data: JSONBody[BatchRequest]) -> Response[BatchOut]:
        def action() -> BatchOut:
            result = commands.credentials.issue_batch([award(a) for a in data.awards], actor=write.actor)
            return BatchOut(ids=result.ids, position=result.position, documents=result.documents,
                            also_awarded=result.also_awarded)

        return await write(action, status=201)

    @post("/submitted", **WRITES, status_code=201,
          summary="Log an OpenBadgeCredential its issuer signed itself (its own did:key or did:web); "
                  "the exact text is stored")
    async def submit(self, request: Request, write: NamedDependency[Write], commands: NamedDependency[Commands],
                     data: JSONBody[dict[str, Any]]) -> Response[WrittenOut]:
        text = (await request.body()).decode("utf-8")  # the bytes as signed, not a re-encoding
        return await write(lambda: written(commands.credentials.submit(text, actor=write.actor)), status=201)

    @post("/reissue", **WRITES, status_code=201, request_max_body_size=MAX_BATCH_BYTES,
          summary="Sign fresh copies with the issuer's active key and revoke the old ones (one transaction)")
    async def reissue(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                      data: JSONBody[ReissueRequest]) -> Response[BatchOut]:
        def action() -> BatchOut:
            result = commands.credentials.reissue(data.credentials, actor=write.actor)
            return BatchOut(ids=result.ids, position=result.position, documents=result.documents)

        return await write(action, status=201)

    @post("/{credential_id:str}/revoke", **WRITES, status_code=200, summary="Revoke a credential (final)")
    async def revoke(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                     credential_id: FromPath[str], data: JSONBody[Reason]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.credentials.revoke(
            credential_id, reason=data.reason, actor=write.actor)))

    @post("/{credential_id:str}/suspend", **WRITES, status_code=200, summary="Suspend a credential")
    async def suspend(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                      credential_id: FromPath[str], data: JSONBody[OptionalReason]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.credentials.suspend(
            credential_id, reason=data.reason or "suspended", actor=write.actor)))

    @post("/{credential_id:str}/reinstate", **WRITES, status_code=200, summary="Reinstate a suspended credential")
    async def reinstate(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                        credential_id: FromPath[str], data: JSONBody[OptionalReason]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.credentials.reinstate(
            credential_id, reason=data.reason or "reinstated", actor=write.actor)))

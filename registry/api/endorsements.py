"""Endorsements: the public list (?of= a subject, ?by= an endorser, ?at= standing at a moment),
each signed document, and the endorser's writes: endorse (the registry signs for a custodial
partner), submit an endorsement it signed itself, withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.access import Principal
from registry.api.achievements import as_issuer
from registry.api.http import (
    IMMUTABLE,
    READ_PROBLEMS,
    SECURITY,
    VC_LD_JSON,
    WRITE,
    WRITE_PROBLEMS,
    acting_as,
    api_of,
    document_response,
    paginate,
    perform,
)
from registry.api.issuers import Cursor, Limit, written
from registry.api.problems import BadParameter
from registry.api.schemas import EndorsementOut, EndorsementPage, EndorseRequest, OptionalReason, WrittenOut
from registry.domain import DomainError, Endorsement, NotFound


class EndorsementController(Controller):
    path = "/endorsements"
    tags = ["endorsements"]

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="Endorsements, oldest first; with ?at= only those standing at that moment")
    def list_endorsements(
        self, request: Request, limit: Limit = 50, cursor: Cursor = None,
        of: Annotated[str | None, QueryParameter(description="subject: issuer slug or DID, achievement or credential id")] = None,
        by: Annotated[str | None, QueryParameter(description="the endorser's slug")] = None,
        at: Annotated[datetime | None, QueryParameter(description="ISO 8601 with offset")] = None,
    ) -> EndorsementPage:
        registry = api_of(request.app.state).registry
        if at is not None and at.tzinfo is None:
            raise BadParameter("at", "a moment needs an offset, e.g. 2026-05-01T12:00:00Z")
        subject = None
        if of is not None:
            try:
                subject = registry._subject(of)[1]
            except DomainError as exc:
                raise NotFound(str(exc)) from None
        endorser = registry.issuer(by).id if by is not None else None
        slugs: dict = {}

        def keep(e: Endorsement) -> bool:
            return ((subject is None or e.subject_id == subject)
                    and (endorser is None or e.endorser_id == endorser)
                    and (at is None or (e.created_on <= at and (e.withdrawn_at is None or e.withdrawn_at > at))))

        def out(e: Endorsement) -> EndorsementOut:
            if e.endorser_id not in slugs:
                slugs[e.endorser_id] = registry.issuer_by_uuid(e.endorser_id)
            who = slugs[e.endorser_id]
            return EndorsementOut(
                id=str(e.id), endorser=who.slug, endorser_did=who.did, subject_kind=e.subject_kind,
                subject_iri=e.subject_iri, comment=e.comment, custodial=e.custodial,
                endorsed_at=e.created_on, withdrawn_at=e.withdrawn_at, withdrawn_reason=e.withdrawn_reason)

        found = (registry.endorsement(ev.originator_id) for ev in registry.events_of(Endorsement.Endorsed))
        page, next_cursor = paginate(found, cursor, limit, keep)
        return EndorsementPage(items=[out(e) for e in page], next_cursor=next_cursor)

    @get("/{endorsement_id:str}", sync_to_thread=True, responses=READ_PROBLEMS, media_type=VC_LD_JSON,
         summary="The signed EndorsementCredential, exactly as logged")
    def document(self, request: Request, endorsement_id: FromPath[str]) -> Response[dict]:
        found = api_of(request.app.state).registry.endorsement(endorsement_id)
        return document_response(request, found.document, VC_LD_JSON, IMMUTABLE)

    @post("/", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS, status_code=201,
          summary="Endorse an issuer, achievement or credential (the registry signs for the endorser)")
    async def endorse(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[EndorseRequest]) -> Response[WrittenOut]:
        by = acting_as(principal, data.by, "by")
        registry = api_of(request.app.state).registry
        return await perform(request, principal, lambda: written(registry.endorse(
            by=by, subject=data.subject, comment=data.comment, actor=principal.actor,
            as_issuer=as_issuer(principal))), status=201)

    @post("/submitted", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS, status_code=201,
          summary="Submit an EndorsementCredential its endorser signed; the exact text is stored")
    async def submit(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[dict[str, Any]]) -> Response[WrittenOut]:
        text = (await request.body()).decode("utf-8")  # the bytes as signed, not a re-encoding
        registry = api_of(request.app.state).registry
        return await perform(request, principal, lambda: written(registry.submit_endorsement(
            text, actor=principal.actor, as_issuer=as_issuer(principal))), status=201)

    @post("/{endorsement_id:str}/withdraw", dependencies=WRITE, security=SECURITY,
          responses=WRITE_PROBLEMS, status_code=200, summary="Withdraw an endorsement")
    async def withdraw(self, request: Request, principal: NamedDependency[Principal], endorsement_id: FromPath[str],
                       data: JSONBody[OptionalReason]) -> Response[WrittenOut]:
        registry = api_of(request.app.state).registry
        return await perform(request, principal, lambda: written(registry.withdraw_endorsement(
            endorsement_id, reason=data.reason or "withdrawn by the endorser", actor=principal.actor,
            as_issuer=as_issuer(principal))))

"""Endorsements: the public list (?of= a subject, ?by= an endorser, ?at= standing at a moment),
answered from the endorsements projection, each signed document, and the endorser's writes:
endorse (the registry signs for a custodial partner), submit an endorsement it signed itself,
withdraw."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.http import IMMUTABLE, READ_PROBLEMS, VC_LD_JSON, WRITES, Write, document_response
from registry.api.issuers import Cursor, Limit, written
from registry.api.schemas import EndorsementOut, EndorsementPage, EndorseRequest, OptionalReason, WrittenOut
from registry.commands import Commands
from registry.errors import InputError
from registry.projections import EndorsementView, Queries


def out(view: EndorsementView) -> EndorsementOut:
    return EndorsementOut(
        id=view.id, endorser=view.endorser, endorser_did=view.endorser_did, subject_kind=view.subject_kind,
        subject_id=view.subject_id, subject_iri=view.subject_iri, comment=view.comment,
        custodial=view.custodial, endorsed_at=datetime.fromisoformat(view.given_at),
        withdrawn_at=view.withdrawn_at and datetime.fromisoformat(view.withdrawn_at),
        withdrawn_reason=view.withdrawn_reason, standing=view.standing, endorser_name=view.endorser_name,
        subject_name=view.subject_name)


class EndorsementController(Controller):
    path = "/endorsements"
    tags = ["endorsements"]

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="Endorsements, oldest first; with ?at= only those standing at that moment",
         description="From the endorsements projection, as of every write that returned before the "
                     "request. Without ?at=, withdrawn endorsements are listed with their withdrawal.")
    def list_endorsements(
        self, queries: NamedDependency[Queries], limit: Limit = 50, cursor: Cursor = None,
        of: Annotated[str | None, QueryParameter(description="subject: issuer slug or DID, achievement or credential id")] = None,
        by: Annotated[str | None, QueryParameter(description="the endorser's slug")] = None,
        at: Annotated[datetime | None, QueryParameter(description="ISO 8601 with offset")] = None,
    ) -> EndorsementPage:
        if at is not None and at.tzinfo is None:
            raise InputError("at", "a moment needs an offset, e.g. 2026-05-01T12:00:00Z")
        page = queries.endorsements(of=of, by=by, at=at, after=cursor, limit=limit)
        return EndorsementPage(items=[out(e) for e in page.items], next_cursor=page.next_cursor)

    @get("/{endorsement_id:str}", sync_to_thread=True, responses=READ_PROBLEMS, media_type=VC_LD_JSON,
         summary="The signed EndorsementCredential, exactly as logged")
    def document(self, request: Request, queries: NamedDependency[Queries],
                 endorsement_id: FromPath[str]) -> Response[dict]:
        return document_response(request, queries.endorsement_document(endorsement_id), VC_LD_JSON, IMMUTABLE)

    @post("/", **WRITES, status_code=201,
          summary="Endorse an issuer, achievement or credential (the registry signs for the endorser)")
    async def endorse(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                      data: JSONBody[EndorseRequest]) -> Response[WrittenOut]:
        by = write.owner(data.by, "by")
        return await write(lambda: written(commands.endorsements.endorse(
            by=by, subject=data.subject, comment=data.comment, actor=write.actor)), status=201)

    @post("/submitted", **WRITES, status_code=201,
          summary="Submit an EndorsementCredential its endorser signed; the exact text is stored")
    async def submit(self, request: Request, write: NamedDependency[Write], commands: NamedDependency[Commands],
                     data: JSONBody[dict[str, Any]]) -> Response[WrittenOut]:
        text = (await request.body()).decode("utf-8")  # the bytes as signed, not a re-encoding
        return await write(lambda: written(commands.endorsements.submit(text, actor=write.actor)), status=201)

    @post("/{endorsement_id:str}/withdraw", **WRITES, status_code=200, summary="Withdraw an endorsement")
    async def withdraw(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                       endorsement_id: FromPath[str], data: JSONBody[OptionalReason]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.endorsements.withdraw(
            endorsement_id, reason=data.reason or "withdrawn by the endorser", actor=write.actor)))

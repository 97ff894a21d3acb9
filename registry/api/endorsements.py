"""Endorsements: the public list (?of= a subject, ?by= an endorser, ?at= standing at a moment),
answered from the endorsements projection, each signed document, and the endorser's writes:
endorse (the registry signs for a custodial partner), submit an endorsement it signed itself,
withdraw."""

from __future__ import annotations

from collections.abc import Sequence
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
    decode_cursor,
    document_response,
    encode_cursor,
    paginate,
    perform,
)
from registry.api.issuers import Cursor, Limit, written
from registry.api.problems import BadParameter
from registry.api.schemas import EndorsementOut, EndorsementPage, EndorseRequest, OptionalReason, WrittenOut
from registry.application import Registry
from registry.projections import EndorsementView, moment

# Every endorsement in log order (the cursor is the log position of a page's last one), for the
# list without ?of= or ?by=, which the read model's query does not answer.
_ALL = (
    "SELECT e.id, e.endorser_id, i.slug, e.subject_kind, e.subject_id, e.subject_iri,"
    " e.subject_issuer_id, e.comment, e.custodial, e.given_at, e.withdrawn_at, e.withdrawn_reason,"
    " e.position FROM endorsements e JOIN issuers i ON i.id = e.endorser_id WHERE e.position > ?"
)
_STANDING = " AND e.given_at <= ? AND (e.withdrawn_at IS NULL OR e.withdrawn_at > ?)"


def every_endorsement(registry: Registry, after: int, limit: int, at: datetime | None
                      ) -> tuple[list[EndorsementView], str | None]:
    """A page of all endorsements (those standing at `at`, if given) after log position `after`."""
    read = registry.read_model
    read.fresh()  # read-your-writes, as the read model's own queries do
    sql, params = _ALL, [after]
    if at is not None:
        sql += _STANDING
        params += [moment(at), moment(at)]
    rows = read.store.query(sql + " ORDER BY e.position LIMIT ?", (*params, limit + 1))
    page = [EndorsementView(*row[:8], bool(row[8]), *row[9:12],
                            at is not None or row[10] is None) for row in rows[:limit]]
    return page, encode_cursor(rows[limit - 1][12]) if len(rows) > limit else None


def endorsements_of_or_by(registry: Registry, of: str | None, by: str | None, at: datetime | None
                          ) -> list[EndorsementView]:
    found = registry.endorsements(of=of, at=at) if of is not None else registry.endorsements(by=by, at=at)
    if of is not None and by is not None:  # both: those of the subject by that endorser
        endorser = {e.id for e in registry.endorsements(by=by, at=at)}
        found = [e for e in found if e.id in endorser]
    return found


def dids(registry: Registry, issuer_ids: Sequence[str]) -> dict[str, str]:
    """The DIDs of the organisations among `issuer_ids`, from the directory projection."""
    wanted = sorted(set(issuer_ids))
    if not wanted:
        return {}
    marks = ", ".join("?" * len(wanted))
    return dict(registry.read_model.store.query(f"SELECT id, did FROM issuers WHERE id IN ({marks})", wanted))


def out(view: EndorsementView, did: str) -> EndorsementOut:
    return EndorsementOut(
        id=view.id, endorser=view.endorser, endorser_did=did, subject_kind=view.subject_kind,
        subject_id=view.subject_id, subject_iri=view.subject_iri, comment=view.comment,
        custodial=view.custodial, endorsed_at=datetime.fromisoformat(view.given_at),
        withdrawn_at=view.withdrawn_at and datetime.fromisoformat(view.withdrawn_at),
        withdrawn_reason=view.withdrawn_reason, standing=view.standing)


class EndorsementController(Controller):
    path = "/endorsements"
    tags = ["endorsements"]

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="Endorsements, oldest first; with ?at= only those standing at that moment",
         description="From the endorsements projection, as of every write that returned before the "
                     "request. Without ?at=, withdrawn endorsements are listed with their withdrawal.")
    def list_endorsements(
        self, request: Request, limit: Limit = 50, cursor: Cursor = None,
        of: Annotated[str | None, QueryParameter(description="subject: issuer slug or DID, achievement or credential id")] = None,
        by: Annotated[str | None, QueryParameter(description="the endorser's slug")] = None,
        at: Annotated[datetime | None, QueryParameter(description="ISO 8601 with offset")] = None,
    ) -> EndorsementPage:
        registry = api_of(request.app.state).registry
        if at is not None and at.tzinfo is None:
            raise BadParameter("at", "a moment needs an offset, e.g. 2026-05-01T12:00:00Z")
        if of is None and by is None:
            page, next_cursor = every_endorsement(registry, decode_cursor(cursor), limit, at)
        else:
            page, next_cursor = paginate(endorsements_of_or_by(registry, of, by, at), cursor, limit)
        known = dids(registry, [e.endorser_id for e in page])
        return EndorsementPage(items=[out(e, known[e.endorser_id]) for e in page], next_cursor=next_cursor)

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

"""Issuers: the public list and profiles, the DID documents did:web resolves to, and the writes the
operator (register) or the issuer itself (profile, deactivation, keys) may make."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.http import (
    CURSOR_PATTERN,
    DID_JSON,
    LD_JSON,
    READ_PROBLEMS,
    WRITES,
    Write,
    document_response,
)
from registry.api.schemas import (
    AffectedOut,
    IssuerOut,
    IssuerPage,
    IssuerRegistration,
    KeyCompromise,
    KeyOut,
    ProfileUpdate,
    Reason,
    WrittenOut,
)
from registry.commands import Commands, Written
from registry.domain import NotFound
from registry.projections import IssuerView, KeyState, Queries

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="at most this many items")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page", pattern=CURSOR_PATTERN)]


def _at(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def issuer_out(issuer: IssuerView, keys: list[KeyState]) -> IssuerOut:
    return IssuerOut(
        slug=issuer.slug, name=issuer.name, did=issuer.did, hosted=issuer.hosted, url=issuer.url,
        email=issuer.email, description=issuer.description, kind=issuer.kind, image=issuer.image,
        phone=issuer.phone, address=issuer.address, other_identifier=issuer.other_identifier,
        registered_at=_at(issuer.registered_at),
        deactivated_at=_at(issuer.deactivated_at),
        keys=[KeyOut(k.verification_method, k.state, _at(k.added_at), _at(k.retired_at), _at(k.compromised_since))
              for k in keys],
    )


def written(result: Written) -> WrittenOut:
    return WrittenOut(id=result.id, position=result.position, document=result.document,
                      also_awarded=result.also_awarded)


class IssuerController(Controller):
    path = "/issuers"
    tags = ["issuers"]

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_issuers(self, queries: NamedDependency[Queries], limit: Limit = 50, cursor: Cursor = None) -> IssuerPage:
        page = queries.issuers(after=cursor, limit=limit)
        keys = queries.keys_of([i.id for i in page.items])
        return IssuerPage(items=[issuer_out(i, keys.get(i.id, [])) for i in page.items],
                          next_cursor=page.next_cursor)

    @get("/{slug:str}", sync_to_thread=True, responses=READ_PROBLEMS)
    def show_issuer(self, queries: NamedDependency[Queries], slug: FromPath[str]) -> IssuerOut:
        issuer = queries.issuer(slug)
        return issuer_out(issuer, queries.keys(issuer.id))

    @get("/{slug:str}/did.json", sync_to_thread=True, responses=READ_PROBLEMS, media_type=DID_JSON,
         summary="The DID document did:web:<host>:issuers:<slug> resolves to")
    def did_document(self, request: Request, queries: NamedDependency[Queries], slug: FromPath[str]) -> Response[dict]:
        if not queries.issuer(slug).hosted:
            raise NotFound(f"issuer {slug} brings its own did:key; no DID document is hosted for it")
        return document_response(request, queries.did_document(slug), DID_JSON)

    @get("/{slug:str}/profile", sync_to_thread=True, responses=READ_PROBLEMS, media_type=LD_JSON,
         summary="The issuer's Open Badges Profile (JSON-LD)")
    def profile(self, request: Request, queries: NamedDependency[Queries], slug: FromPath[str]) -> Response[dict]:
        return document_response(request, queries.profile(slug), LD_JSON)

    @get("/{slug:str}/keys/affected", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="The credentials a key compromise invalidates (logged at or after the compromise began)")
    def affected(self, queries: NamedDependency[Queries], slug: FromPath[str],
                 key: Annotated[str | None, QueryParameter(description="one key: id, fragment or Multikey")] = None,
                 ) -> list[AffectedOut]:
        return [AffectedOut(a.credential_id, a.verification_method, datetime.fromisoformat(a.issued_at),
                            datetime.fromisoformat(a.compromised_since), a.status)
                for a in queries.affected(slug, key)]

    @post("/", **WRITES, status_code=201, summary="Register an organisation (registry admin)")
    async def register(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                       data: JSONBody[IssuerRegistration]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.issuers.register(
            slug=data.slug, name=data.name, url=data.url, email=data.email,
            description=data.description, did=data.did, kind=data.kind, image=data.image,
            key=data.public_key, phone=data.phone, address=data.address, other_identifier=data.other_identifier,
            actor=write.actor)), status=201)

    @patch("/{slug:str}", **WRITES, status_code=200,
           summary="Change the organisation's profile (fields left out stay as they are)")
    async def update_profile(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                             slug: FromPath[str], data: JSONBody[ProfileUpdate]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.issuers.update_profile(
            slug, name=data.name, url=data.url, email=data.email, description=data.description,
            kind=data.kind, image=data.image, phone=data.phone, address=data.address,
            other_identifier=data.other_identifier, actor=write.actor)))

    @post("/{slug:str}/deactivate", **WRITES, status_code=200,
          summary="Stop the organisation issuing and endorsing (what it signed stays valid)")
    async def deactivate(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                         slug: FromPath[str], data: JSONBody[Reason]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.issuers.deactivate(slug, reason=data.reason, actor=write.actor)))

    @post("/{slug:str}/keys/rotate", **WRITES, status_code=200, summary="Retire the active key and activate a new one")
    async def rotate_key(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                         slug: FromPath[str]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.issuers.rotate_key(slug, actor=write.actor)))

    @post("/{slug:str}/keys/compromise", **WRITES, status_code=200, summary="Distrust a key from a moment on")
    async def report_compromise(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                                slug: FromPath[str], data: JSONBody[KeyCompromise]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.issuers.report_compromise(
            slug, verification_method=data.key, since=data.since, actor=write.actor)))

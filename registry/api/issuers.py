"""Issuers: the public list and profiles, the DID documents did:web resolves to, and the writes an
admin (register) or the issuer itself (rotate a key, report a compromise) may make."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.access import Principal
from registry.api.http import (
    CURSOR_PATTERN,
    DID_JSON,
    LD_JSON,
    READ_PROBLEMS,
    SECURITY,
    WRITE,
    WRITE_PROBLEMS,
    api_of,
    document_response,
    paginate,
    perform,
    require_admin,
    require_issuer,
)
from registry.api.schemas import IssuerOut, IssuerPage, IssuerRegistration, KeyCompromise, KeyOut, WrittenOut
from registry.application import Registry
from registry.domain import DidClaim, Issuer, NotFound
from registry.vc import contexts

Limit = Annotated[int, QueryParameter(ge=1, le=200, description="at most this many items")]
Cursor = Annotated[str | None, QueryParameter(description="next_cursor of the previous page", pattern=CURSOR_PATTERN)]


def issuer_out(issuer: Issuer) -> IssuerOut:
    return IssuerOut(
        slug=issuer.slug, name=issuer.name, did=issuer.did, hosted=issuer.hosted, url=issuer.url,
        email=issuer.email, description=issuer.description, registered_at=issuer.created_on,
        deactivated_at=issuer.deactivated_at,
        keys=[KeyOut(k.verification_method, k.state, k.added_at, k.retired_at, k.compromised_since)
              for k in issuer.keys],
    )


def issuers_in_log_order(registry: Registry):
    return (registry.issuer(claim.slug) for claim in registry.events_of(DidClaim.Claimed))


def written(result) -> WrittenOut:
    return WrittenOut(id=result.id, position=result.position, document=result.document)


class IssuerController(Controller):
    path = "/issuers"
    tags = ["issuers"]

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_issuers(self, request: Request, limit: Limit = 50, cursor: Cursor = None) -> IssuerPage:
        registry = api_of(request.app.state).registry
        page, next_cursor = paginate(issuers_in_log_order(registry), cursor, limit)
        return IssuerPage(items=[issuer_out(i) for i in page], next_cursor=next_cursor)

    @get("/{slug:str}", sync_to_thread=True, responses=READ_PROBLEMS)
    def show_issuer(self, request: Request, slug: FromPath[str]) -> IssuerOut:
        return issuer_out(api_of(request.app.state).registry.issuer(slug))

    @get("/{slug:str}/did.json", sync_to_thread=True, responses=READ_PROBLEMS, media_type=DID_JSON,
         summary="The DID document did:web:<host>:issuers:<slug> resolves to")
    def did_document(self, request: Request, slug: FromPath[str]) -> Response[dict]:
        registry = api_of(request.app.state).registry
        if not registry.issuer(slug).hosted:
            raise NotFound(f"issuer {slug} brings its own did:key; no DID document is hosted for it")
        return document_response(request, registry.did_document(slug), DID_JSON)

    @get("/{slug:str}/profile", sync_to_thread=True, responses=READ_PROBLEMS, media_type=LD_JSON,
         summary="The issuer's Open Badges Profile (JSON-LD)")
    def profile(self, request: Request, slug: FromPath[str]) -> Response[dict]:
        registry = api_of(request.app.state).registry
        profile = {"@context": list(contexts.OB_CONTEXTS), **registry.issuer_profile(registry.issuer(slug))}
        return document_response(request, profile, LD_JSON)

    @post("/", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS, status_code=201,
          summary="Register an organisation (registry admin)")
    async def register(self, request: Request, principal: NamedDependency[Principal],
                       data: JSONBody[IssuerRegistration]) -> Response[WrittenOut]:
        require_admin(principal, "register issuers")
        registry = api_of(request.app.state).registry
        return await perform(request, principal, lambda: written(registry.register_issuer(
            slug=data.slug, name=data.name, url=data.url, email=data.email,
            description=data.description, did=data.did, actor=principal.actor)), status=201)

    @post("/{slug:str}/keys/rotate", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS,
          status_code=200, summary="Retire the active key and activate a new one")
    async def rotate_key(self, request: Request, principal: NamedDependency[Principal], slug: FromPath[str]) -> Response[WrittenOut]:
        require_issuer(principal, slug)
        registry = api_of(request.app.state).registry
        return await perform(request, principal,
                             lambda: written(registry.rotate_key(slug, actor=principal.actor)))

    @post("/{slug:str}/keys/compromise", dependencies=WRITE, security=SECURITY,
          responses=WRITE_PROBLEMS, status_code=200, summary="Distrust a key from a moment on")
    async def report_compromise(self, request: Request, principal: NamedDependency[Principal], slug: FromPath[str],
                                data: JSONBody[KeyCompromise]) -> Response[WrittenOut]:
        require_issuer(principal, slug)
        registry = api_of(request.app.state).registry
        return await perform(request, principal, lambda: written(registry.report_key_compromise(
            slug, verification_method=data.key, since=data.since, actor=principal.actor)))

"""Achievements (badge classes): the public documents, latest and every earlier version at the URL
the registry names them by (<public_url>/achievements/<uuid>[/versions/<n>]), a paged list, and the
issuer's writes: define, revise (a new version), retire."""

from __future__ import annotations

import json
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.access import Principal
from registry.api.http import (
    IMMUTABLE,
    LD_JSON,
    READ_PROBLEMS,
    SECURITY,
    WRITE,
    WRITE_PROBLEMS,
    acting_as,
    api_of,
    document_response,
    paginate,
    perform,
)
from registry.api.issuers import Cursor, Limit, written
from registry.api.schemas import (
    AchievementDefinition,
    AchievementOut,
    AchievementPage,
    AchievementRevision,
    Reason,
    WrittenOut,
)
from registry.domain import Achievement, NotFound
from registry.vc import openbadges


def standalone(document_text: str) -> dict:
    """A stored Achievement as a JSON-LD document of its own (embedded copies carry no @context)."""
    return {"@context": list(openbadges.CREDENTIAL_CONTEXTS), **json.loads(document_text)}


def as_issuer(principal: Principal) -> str | None:
    return None if principal.admin else principal.issuer


class AchievementController(Controller):
    path = "/achievements"
    tags = ["achievements"]

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_achievements(self, request: Request, limit: Limit = 50, cursor: Cursor = None,
                          issuer: Annotated[str | None, QueryParameter(description="an issuer's slug")] = None,
                          ) -> AchievementPage:
        registry = api_of(request.app.state).registry
        owner = registry.issuer(issuer).id if issuer else None
        slugs: dict = {}

        def slug_of(achievement: Achievement) -> str:
            if achievement.issuer_id not in slugs:
                slugs[achievement.issuer_id] = registry.issuer_by_uuid(achievement.issuer_id).slug
            return slugs[achievement.issuer_id]

        found = (registry.achievement(e.originator_id) for e in registry.events_of(Achievement.Defined))
        page, next_cursor = paginate(found, cursor, limit, lambda a: owner is None or a.issuer_id == owner)
        return AchievementPage(next_cursor=next_cursor, items=[
            AchievementOut(id=str(a.id), url=registry.config.achievement_url(a.id), issuer=slug_of(a),
                           name=a.name, version=a.current_version, retired=a.retired_at is not None,
                           requires=[str(r) for r in a.requires])
            for a in page
        ])

    @get("/{achievement_id:str}", sync_to_thread=True, responses=READ_PROBLEMS, media_type=LD_JSON,
         summary="The latest version of an achievement (OB 3.0 Achievement, JSON-LD)")
    def latest(self, request: Request, achievement_id: FromPath[str]) -> Response[dict]:
        found = api_of(request.app.state).registry.achievement(achievement_id)
        return document_response(request, standalone(found.document), LD_JSON)

    @get("/{achievement_id:str}/versions/{version:int}", sync_to_thread=True, responses=READ_PROBLEMS,
         media_type=LD_JSON, summary="One version of an achievement; versions never change")
    def version(self, request: Request, achievement_id: FromPath[str], version: FromPath[int]) -> Response[dict]:
        found = api_of(request.app.state).registry.achievement(achievement_id)
        if not 1 <= version <= found.current_version:
            raise NotFound(f"achievement {found.id} has no version {version} (latest is {found.current_version})")
        return document_response(request, standalone(found.version_document(version)), LD_JSON, IMMUTABLE)

    @post("/", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS, status_code=201,
          summary="Define an achievement")
    async def define(self, request: Request, principal: NamedDependency[Principal],
                     data: JSONBody[AchievementDefinition]) -> Response[WrittenOut]:
        issuer = acting_as(principal, data.issuer, "issuer")
        registry = api_of(request.app.state).registry
        return await perform(request, principal, lambda: written(registry.define_achievement(
            issuer=issuer, definition=data.definition, requires=data.requires, actor=principal.actor)),
            status=201)

    @post("/{achievement_id:str}/versions", dependencies=WRITE, security=SECURITY,
          responses=WRITE_PROBLEMS, status_code=201, summary="Publish a new version of an achievement")
    async def revise(self, request: Request, principal: NamedDependency[Principal], achievement_id: FromPath[str],
                     data: JSONBody[AchievementRevision]) -> Response[WrittenOut]:
        registry = api_of(request.app.state).registry
        return await perform(request, principal, lambda: written(registry.revise_achievement(
            achievement_id, definition=data.definition, requires=data.requires,
            actor=principal.actor, as_issuer=as_issuer(principal))), status=201)

    @post("/{achievement_id:str}/retire", dependencies=WRITE, security=SECURITY,
          responses=WRITE_PROBLEMS, status_code=200, summary="Stop awarding an achievement")
    async def retire(self, request: Request, principal: NamedDependency[Principal], achievement_id: FromPath[str],
                     data: JSONBody[Reason]) -> Response[WrittenOut]:
        registry = api_of(request.app.state).registry
        return await perform(request, principal, lambda: written(registry.retire_achievement(
            achievement_id, reason=data.reason, actor=principal.actor, as_issuer=as_issuer(principal))))

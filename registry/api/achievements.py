"""Achievements (badge classes): the public documents, latest and every earlier version at the URL
the registry names them by (<public_url>/achievements/<uuid>[/versions/<n>]), a paged list, and the
issuer's writes: define, revise (a new version), retire."""

from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.http import IMMUTABLE, LD_JSON, READ_PROBLEMS, WRITES, Write, document_response
from registry.api.issuers import Cursor, Limit, written
from registry.api.schemas import (
    AchievementDefinition,
    AchievementOut,
    AchievementPage,
    AchievementRevision,
    Reason,
    WrittenOut,
)
from registry.commands import Commands
from registry.projections import Queries
from registry.settings import Config


class AchievementController(Controller):
    path = "/achievements"
    tags = ["achievements"]

    @get("/", sync_to_thread=True, responses=READ_PROBLEMS)
    def list_achievements(self, queries: NamedDependency[Queries], config: NamedDependency[Config],
                          limit: Limit = 50, cursor: Cursor = None,
                          issuer: Annotated[str | None, QueryParameter(description="an issuer's slug")] = None,
                          ) -> AchievementPage:
        page = queries.achievements(issuer=issuer, after=cursor, limit=limit)
        return AchievementPage(next_cursor=page.next_cursor, items=[
            AchievementOut(id=a.id, url=config.achievement_url(a.id), issuer=a.issuer, name=a.name,
                           version=a.version, retired=a.retired_at is not None, requires=a.requires,
                           minimum_levels=a.minimum_levels, automatic=a.automatic)
            for a in page.items
        ])

    @get("/{achievement_id:str}", sync_to_thread=True, responses=READ_PROBLEMS, media_type=LD_JSON,
         summary="The latest version of an achievement (OB 3.0 Achievement, JSON-LD)")
    def latest(self, request: Request, queries: NamedDependency[Queries],
               achievement_id: FromPath[str]) -> Response[dict]:
        return document_response(request, queries.achievement_document(achievement_id), LD_JSON)

    @get("/{achievement_id:str}/versions/{version:int}", sync_to_thread=True, responses=READ_PROBLEMS,
         media_type=LD_JSON, summary="One version of an achievement; versions never change")
    def version(self, request: Request, queries: NamedDependency[Queries], achievement_id: FromPath[str],
                version: FromPath[int]) -> Response[dict]:
        return document_response(request, queries.achievement_document(achievement_id, version), LD_JSON,
                                 IMMUTABLE)

    @post("/", **WRITES, status_code=201, summary="Define an achievement")
    async def define(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                     data: JSONBody[AchievementDefinition]) -> Response[WrittenOut]:
        issuer = write.owner(data.issuer, "issuer")
        return await write(lambda: written(commands.achievements.define(
            issuer=issuer, definition=data.definition, requires=_requirements(data.requires),
            automatic=data.automatic, actor=write.actor)), status=201)

    @post("/{achievement_id:str}/versions", **WRITES, status_code=201,
          summary="Publish a new version of an achievement")
    async def revise(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                     achievement_id: FromPath[str], data: JSONBody[AchievementRevision]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.achievements.revise(
            achievement_id, definition=data.definition, automatic=data.automatic,
            requires=None if data.requires is None else _requirements(data.requires), actor=write.actor)), status=201)

    @post("/{achievement_id:str}/retire", **WRITES, status_code=200, summary="Stop awarding an achievement")
    async def retire(self, write: NamedDependency[Write], commands: NamedDependency[Commands],
                     achievement_id: FromPath[str], data: JSONBody[Reason]) -> Response[WrittenOut]:
        return await write(lambda: written(commands.achievements.retire(
            achievement_id, reason=data.reason, actor=write.actor)))


def _requirements(requires: list) -> list:
    """The wire's requirements as the command takes them (see commands.achievements.Requirement)."""
    return [r if isinstance(r, str) else msgspec.structs.asdict(r) for r in requires]

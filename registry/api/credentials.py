"""Credentials: issuing (one, or a batch in one transaction), revoking, suspending, reinstating,
and the public status of a credential at any moment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from registry.api.access import Principal
from registry.api.achievements import as_issuer
from registry.api.http import READ_PROBLEMS, SECURITY, WRITE, WRITE_PROBLEMS, api_of, perform
from registry.api.issuers import written
from registry.api.problems import BadParameter
from registry.api.schemas import (
    AwardRequest,
    BatchOut,
    BatchRequest,
    CredentialStatusOut,
    OptionalReason,
    Reason,
    WrittenOut,
)
from registry.application import Award, Registry
from registry.application.registry import utc_now
from registry.domain import Credential, NotFound
from registry.domain.credential import ACTIVE, REVOKED, SUSPENDED

_STATUS_AFTER = {Credential.Suspended: SUSPENDED, Credential.Reinstated: ACTIVE, Credential.Revoked: REVOKED}


def award(data: AwardRequest) -> Award:
    return Award(data.recipient, data.achievement, data.result, data.valid_until, data.evidence)


def status_at(registry: Registry, credential_id: str, at: datetime) -> CredentialStatusOut:
    """The credential's status as the log stood at `at`: its events up to then, replayed."""
    credential = registry.credential(credential_id)
    if at < credential.created_on:
        raise NotFound(f"credential {credential.id} was not issued yet at {at.isoformat()}")
    status, reason = ACTIVE, None
    for event in registry.repository.event_store.get(credential.id):
        if event.timestamp > at:
            break
        if type(event) in _STATUS_AFTER:
            status, reason = _STATUS_AFTER[type(event)], event.reason
    in_period = credential.valid_from <= at and (credential.valid_until is None or at < credential.valid_until)
    return CredentialStatusOut(id=str(credential.id), at=at, status=status, reason=reason,
                               valid_from=credential.valid_from, valid_until=credential.valid_until,
                               valid=status == ACTIVE and in_period)


class CredentialController(Controller):
    path = "/credentials"
    tags = ["credentials"]

    @get("/{credential_id:str}/status", sync_to_thread=True, responses=READ_PROBLEMS,
         summary="A credential's status now, or at a moment (?at=, with an offset)")
    def status(self, request: Request, credential_id: FromPath[str],
               at: Annotated[datetime | None, QueryParameter(description="ISO 8601 with offset")] = None,
               ) -> CredentialStatusOut:
        if at is not None and at.tzinfo is None:
            raise BadParameter("at", "a moment needs an offset, e.g. 2026-05-01T12:00:00Z")
        return status_at(api_of(request.app.state).registry, credential_id, at or utc_now())

    @post("/", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS, status_code=201,
          summary="Issue an OpenBadgeCredential")
    async def issue(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[AwardRequest]) -> Response[WrittenOut]:
        registry = api_of(request.app.state).registry
        return await perform(request, principal, lambda: written(registry.issue_credential(
            award(data), actor=principal.actor, as_issuer=as_issuer(principal))), status=201)

    @post("/batch", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS, status_code=201,
          summary="Issue many credentials in one transaction (all or nothing)")
    async def issue_batch(self, request: Request, principal: NamedDependency[Principal], data: JSONBody[BatchRequest]) -> Response[BatchOut]:
        registry = api_of(request.app.state).registry

        def action() -> BatchOut:
            result = registry.issue_batch([award(a) for a in data.awards], actor=principal.actor,
                                          as_issuer=as_issuer(principal))
            return BatchOut(ids=result.ids, position=result.position, documents=result.documents)

        return await perform(request, principal, action, status=201)

    @post("/{credential_id:str}/revoke", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS,
          status_code=200, summary="Revoke a credential (final)")
    async def revoke(self, request: Request, principal: NamedDependency[Principal], credential_id: FromPath[str],
                     data: JSONBody[Reason]) -> Response[WrittenOut]:
        return await self._change(request, principal, "revoke", credential_id, data.reason)

    @post("/{credential_id:str}/suspend", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS,
          status_code=200, summary="Suspend a credential")
    async def suspend(self, request: Request, principal: NamedDependency[Principal], credential_id: FromPath[str],
                      data: JSONBody[OptionalReason]) -> Response[WrittenOut]:
        return await self._change(request, principal, "suspend", credential_id, data.reason or "suspended")

    @post("/{credential_id:str}/reinstate", dependencies=WRITE, security=SECURITY, responses=WRITE_PROBLEMS,
          status_code=200, summary="Reinstate a suspended credential")
    async def reinstate(self, request: Request, principal: NamedDependency[Principal], credential_id: FromPath[str],
                        data: JSONBody[OptionalReason]) -> Response[WrittenOut]:
        return await self._change(request, principal, "reinstate", credential_id, data.reason or "reinstated")

    @staticmethod
    async def _change(request: Request, principal: Principal, change: str, credential_id: str,
                      reason: str) -> Response:
        use_case = getattr(api_of(request.app.state).registry, f"{change}_credential")
        return await perform(request, principal, lambda: written(use_case(
            credential_id, reason=reason, actor=principal.actor, as_issuer=as_issuer(principal))))

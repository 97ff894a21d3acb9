"""Queries answered from the read side (registry/projections): a credential's status, an
organisation's keys and endorsements, now or as of any instant. Each reflects every command that
returned before it was asked (read-your-writes)."""

from __future__ import annotations

from datetime import datetime

from registry.application.registry import RegistryCore
from registry.projections import (
    CredentialStatus,
    EndorsementView,
    KeyState,
    ProjectionStatus,
    ReadModel,
    read_model,
)


class ReadingUseCases(RegistryCore):
    @property
    def read_model(self) -> ReadModel:
        return read_model(self)

    def credential_status(self, credential_id: str, at: datetime | None = None) -> CredentialStatus:
        return self.read_model.credential_status(credential_id, at)

    def key_history(self, slug: str, at: datetime | None = None) -> list[KeyState]:
        return self.read_model.keys(slug, at)

    def endorsements(self, *, of: str | None = None, by: str | None = None,
                     at: datetime | None = None) -> list[EndorsementView]:
        return self.read_model.endorsements(of=of, by=by, at=at)

    def projection_status(self) -> list[ProjectionStatus]:
        return self.read_model.status()

    def catch_up_projections(self, until_position: int | None = None) -> dict[str, int]:
        return self.read_model.catch_up(until_position=until_position)

    def rebuild_projection(self, name: str | None = None) -> dict[str, int]:
        return self.read_model.rebuild(name)

    def close(self) -> None:
        found = self.__dict__.pop("_read_model", None)
        if found is not None:
            found.close()
        super().close()

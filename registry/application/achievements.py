"""Use cases for badge classes: define, revise (a new version; old ones stay resolvable), retire."""

from __future__ import annotations

import json
from uuid import UUID

from registry.application.registry import RegistryCore
from registry.application.results import Written
from registry.domain import Achievement, DomainError, NotAuthorised
from registry.vc import jsonld, openbadges
from registry.vc.errors import DocumentError

# Properties the registry sets itself; a definition file may not supply them.
_MANAGED = {"id", "type", "creator", "version", "@context"}


class AchievementUseCases(RegistryCore):
    def define_achievement(self, *, issuer: str, actor: str, definition: dict,
                           requires: list[str] = ()) -> Written:
        """`definition` is an OB Achievement without id/creator: at least name, description and
        criteria ({"narrative": ...}); any other OB Achievement property is kept as given."""

        def use_case() -> Written:
            owner = self.issuer(issuer)
            if not owner.is_active:
                raise DomainError(f"issuer {issuer} is deactivated")
            new_id = Achievement.new_id()
            required = self._required(requires, owner.id)
            document = self._document(new_id, owner, definition, version=1)
            achievement = Achievement.define(
                id=new_id, issuer_id=owner.id, name=document["name"],
                document=json.dumps(document, ensure_ascii=False), requires=required, actor=actor,
            )
            return Written(id=str(new_id), position=self.commit(achievement))

        return self.attempt(use_case)

    def revise_achievement(self, achievement_id: str, *, actor: str, definition: dict,
                           requires: list[str] | None = None, as_issuer: str | None = None) -> Written:
        def use_case() -> Written:
            achievement = self.achievement(achievement_id)
            owner = self.issuer_by_uuid(achievement.issuer_id)
            self._authorise(owner.slug, as_issuer)
            required = (achievement.requires if requires is None
                        else self._required(requires, owner.id))
            document = self._document(achievement.id, owner, definition,
                                      version=achievement.current_version + 1)
            achievement.revise(name=document["name"], requires=required, actor=actor,
                               document=json.dumps(document, ensure_ascii=False))
            return Written(id=str(achievement.id), position=self.commit(achievement))

        return self.attempt(use_case)

    def retire_achievement(self, achievement_id: str, *, reason: str, actor: str,
                           as_issuer: str | None = None) -> Written:
        def use_case() -> Written:
            achievement = self.achievement(achievement_id)
            self._authorise(self.issuer_by_uuid(achievement.issuer_id).slug, as_issuer)
            achievement.retire(reason=reason, actor=actor)
            return Written(id=str(achievement.id), position=self.commit(achievement))

        return self.attempt(use_case)

    def achievement(self, achievement_id: str | UUID) -> Achievement:
        uuid = achievement_id if isinstance(achievement_id, UUID) else self.parse_uuid(achievement_id, "achievement")
        return self.load(uuid, Achievement, "achievement")

    def list_achievements(self, issuer: str | None = None) -> list[Achievement]:
        owner = self.issuer(issuer).id if issuer else None
        found = (self.achievement(e.originator_id) for e in self.events_of(Achievement.Defined))
        return [a for a in found if owner is None or a.issuer_id == owner]

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _authorise(owner_slug: str, as_issuer: str | None) -> None:
        if as_issuer is not None and as_issuer != owner_slug:
            raise NotAuthorised(f"{as_issuer} may not act for {owner_slug}")

    def _required(self, requires, owner_id: UUID) -> tuple[UUID, ...]:
        required = []
        for ref in requires:
            prerequisite = self.achievement(ref)
            if prerequisite.issuer_id != owner_id:
                raise DomainError(f"required achievement {ref} belongs to another issuer")
            required.append(prerequisite.id)
        return tuple(dict.fromkeys(required))

    def _document(self, achievement_id: UUID, owner, definition: dict, *, version: int) -> dict:
        if not isinstance(definition, dict):
            raise DocumentError("an achievement definition must be a JSON object")
        managed = sorted(_MANAGED & set(definition))
        if managed:
            raise DocumentError(f"an achievement definition may not set {managed}: the registry sets them")
        criteria = definition.get("criteria")
        if not isinstance(criteria, dict) or not isinstance(criteria.get("narrative"), str):
            raise DocumentError("an achievement definition needs criteria.narrative (a string)")
        extra = {k: v for k, v in definition.items() if k not in ("name", "description", "criteria")}
        extra_criteria = {k: v for k, v in criteria.items() if k != "narrative"}
        document = openbadges.achievement(
            self.config.achievement_url(achievement_id),
            name=definition.get("name"), description=definition.get("description"),
            criteria_narrative=criteria["narrative"], creator=self.issuer_profile(owner),
            achievement_type=extra.pop("achievementType", "Badge"), version=str(version),
            extra=extra or None,
        )
        document["criteria"].update(extra_criteria)
        # Refuse terms the pinned contexts do not define: a signature would not cover them.
        jsonld.assert_terms_defined({"@context": list(openbadges.CREDENTIAL_CONTEXTS), **document})
        return document

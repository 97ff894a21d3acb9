"""Commands about badge classes: define, revise (a new version; old ones stay resolvable), retire.
A definition may describe result levels (a ladder: registry.domain.ladder) and requirements, each
optionally at a minimum level; an automatic pathway is awarded by the registry when completed."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from uuid import UUID

from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.commands.results import Written
from registry.domain import Achievement, DomainError, Issuer
from registry.domain.ladder import complete_result_descriptions, ladder_of
from registry.settings import Config
from registry.vc import jsonld, openbadges, schema
from registry.vc.errors import DocumentError

# Properties the registry sets itself; a definition may not supply them.
_MANAGED = {"id", "type", "creator", "version", "@context"}


@dataclass(frozen=True)
class Requirement:
    """An achievement a recipient must hold first, optionally at least at a level of its ladder."""

    achievement: str  # its id or URL
    level: str | None = None  # a level's name or id

    @classmethod
    def of(cls, ref: object) -> Requirement:
        """From what the CLI and HTTP accept: "ID", "ID@Level", or {"achievement": ID, "level": L}."""
        if isinstance(ref, Requirement):
            return ref
        if isinstance(ref, str):
            achievement, _, level = ref.partition("@")
            return cls(achievement.strip(), level.strip() or None)
        if isinstance(ref, dict) and isinstance(ref.get("achievement"), str) and set(ref) <= {"achievement", "level"} \
                and isinstance(ref.get("level", ""), (str, type(None))):
            return cls(ref["achievement"].strip(), ref.get("level") or None)
        raise DocumentError(f"a requirement is an achievement id, 'ID@Level' or {{\"achievement\", \"level\"}}, got {ref!r}")


class AchievementCommands:
    def __init__(self, records: Records, config: Config) -> None:
        self.records = records
        self.store = records.store
        self.config = config

    def define(self, *, issuer: str, actor: Actor, definition: dict,
               requires: list = (), automatic: bool = False) -> Written:
        """`definition` is an OB Achievement without id/creator: at least name, description and
        criteria ({"narrative": ...}); any other OB Achievement property is kept as given.
        `requires`: achievements to hold first (see Requirement); `automatic`: the registry awards
        it in the transaction of the award that completes its requirements."""

        def use_case() -> Written:
            owner = self.records.issuer(issuer)
            authorise(actor, owner.slug, "define achievements")
            if not owner.is_active:
                raise DomainError(f"issuer {owner.slug} is deactivated")
            new_id = Achievement.new_id()
            required, levels = self._required(requires, owner.id)
            document = self._document(new_id, owner, definition, version=1)
            achievement = Achievement.define(
                id=new_id, issuer_id=owner.id, name=document["name"],
                document=json.dumps(document, ensure_ascii=False), requires=required, actor=actor.name,
                minimum_levels=levels, automatic=automatic,
            )
            return Written(id=str(new_id), position=self.store.commit(achievement))

        return self.store.attempt(use_case)

    def revise(self, achievement_id: str, *, actor: Actor, definition: dict,
               requires: list | None = None, automatic: bool | None = None) -> Written:
        """`requires` / `automatic` left out (None) keep what the current version has."""
        def use_case() -> Written:
            achievement = self.records.achievement(achievement_id)
            owner = self.records.owner(achievement)
            authorise(actor, owner.slug, "revise achievements")
            required, levels = ((achievement.requires, achievement.minimum_levels) if requires is None
                                else self._required(requires, owner.id))
            document = self._document(achievement.id, owner, definition,
                                      version=achievement.current_version + 1)
            achievement.revise(name=document["name"], requires=required, actor=actor.name,
                               document=json.dumps(document, ensure_ascii=False), minimum_levels=levels,
                               automatic=achievement.automatic if automatic is None else automatic)
            return Written(id=str(achievement.id), position=self.store.commit(achievement))

        return self.store.attempt(use_case)

    def retire(self, achievement_id: str, *, reason: str, actor: Actor) -> Written:
        def use_case() -> Written:
            achievement = self.records.achievement(achievement_id)
            authorise(actor, self.records.owner(achievement).slug, "retire achievements")
            achievement.retire(reason=reason, actor=actor.name)
            return Written(id=str(achievement.id), position=self.store.commit(achievement))

        return self.store.attempt(use_case)

    # --- helpers -------------------------------------------------------------------------------

    def _required(self, requires, owner_id: UUID) -> tuple[tuple[UUID, ...], dict[str, str]]:
        """The required achievements' ids and, for those required at a level, that level's id."""
        required, levels = [], {}
        for ref in requires:
            requirement = Requirement.of(ref)
            prerequisite = self.records.achievement(requirement.achievement)
            if prerequisite.issuer_id != owner_id:
                raise DomainError(f"required achievement {requirement.achievement} belongs to another issuer")
            required.append(prerequisite.id)
            if requirement.level is not None:
                ladder = ladder_of(json.loads(prerequisite.document))
                if ladder is None:
                    raise DomainError(f"{prerequisite.name} has no levels: it cannot be required at {requirement.level!r}")
                levels[str(prerequisite.id)] = ladder.level(requirement.level).id
        return tuple(dict.fromkeys(required)), levels

    def _document(self, achievement_id: UUID, owner: Issuer, definition: dict, *, version: int) -> dict:
        if not isinstance(definition, dict):
            raise DocumentError("an achievement definition must be a JSON object")
        openbadges.refuse_unsafe(definition, "the achievement definition")
        definition = copy.deepcopy(definition)  # ids and types are filled in below
        complete_result_descriptions(definition, self.config.achievement_url(achievement_id))
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
            criteria_narrative=criteria["narrative"], creator=self.records.profile(owner),
            achievement_type=extra.pop("achievementType", "Badge"), version=str(version),
            extra=extra or None,
        )
        document["criteria"].update(extra_criteria)
        # What credentials will embed must conform to the 1EdTech schema's Achievement, or every
        # credential awarding it would fail schema checks at every verifier.
        conformance = schema.check_part(document, "Achievement")
        if not conformance.ok:
            raise DocumentError(f"the achievement does not conform to OB 3.0: {'; '.join(conformance.errors)}")
        # Refuse terms the pinned contexts do not define: a signature would not cover them.
        jsonld.assert_terms_defined({"@context": list(openbadges.CREDENTIAL_CONTEXTS), **document})
        return document

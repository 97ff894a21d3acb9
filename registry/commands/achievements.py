"""Commands about badge classes: define, revise (a new version; old ones stay resolvable), retire.
A definition may describe result levels (a ladder: registry.domain.ladder) and requirements, each
optionally at a minimum level; an automatic pathway is awarded by the registry when completed.

A definition may name registered extension contexts (`"@context": [URL, ...]`, registry.commands.
contexts) and then use the terms they define and types beside "Achievement"; such an achievement is
stored with its whole @context, and credentials awarding it list those contexts after their own.
`version` is the issuer's own label when given (OB 3.0: "2024-2025", "v2.1"); without one it is the
revision number. Versions are resolved by revision number either way (/versions/<n>)."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from uuid import UUID

from registry.commands.policy import Actor, authorise
from registry.commands.records import Records
from registry.commands.results import Written
from registry.domain import Achievement, DomainError, Issuer
from registry.domain.ladder import complete_result_descriptions, ladder_of
from registry.settings import Config
from registry.vc import contexts, jsonld, openbadges, schema
from registry.vc.errors import DocumentError

# Properties the registry sets itself; a definition may not supply them.
_MANAGED = {"id", "creator"}
# OB 3.0 AchievementType: one of its terms, or an extension named "ext:" + letters, digits, . - _
# (the 1EdTech schema's pattern is not anchored, so it would let "Badge ext:x" through).
_EXT_ACHIEVEMENT_TYPE = re.compile(r"^ext:[A-Za-z0-9._-]+$")
MAX_EXTENSION_CONTEXTS = 8
MAX_VERSION = 200


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
               requires: list = (), automatic: bool = False, id: UUID | None = None) -> Written:
        """`definition` is an OB Achievement without id/creator: at least name, description and
        criteria ({"narrative": ...}); any other OB Achievement property is kept as given.
        `requires`: achievements to hold first (see Requirement); `automatic`: the registry awards
        it in the transaction of the award that completes its requirements."""

        def use_case() -> Written:
            owner = self.records.issuer(issuer)
            authorise(actor, owner.slug, "define achievements")
            if not owner.is_active:
                raise DomainError(f"issuer {owner.slug} is deactivated")
            # A given id makes defining idempotent for the caller that derives it (a re-issued
            # BadgeClass: registry.domain.identity.reissued_achievement_id).
            new_id = id or Achievement.new_id()
            required, levels = self._required(requires, owner.id)
            document = self._document(new_id, owner, definition, revision=1)
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
                                      revision=achievement.current_version + 1)
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

    def _document(self, achievement_id: UUID, owner: Issuer, definition: dict, *, revision: int) -> dict:
        if not isinstance(definition, dict):
            raise DocumentError("an achievement definition must be a JSON object")
        openbadges.refuse_unsafe(definition, "the achievement definition")
        definition = copy.deepcopy(definition)  # ids and types are filled in below
        complete_result_descriptions(definition, self.config.achievement_url(achievement_id))
        managed = sorted(_MANAGED & set(definition))
        if managed:
            raise DocumentError(f"an achievement definition may not set {managed}: the registry sets them")
        extension_contexts = self._extension_contexts(definition.pop("@context", None))
        types = _types(definition.pop("type", None))
        version = definition.pop("version", None)
        if version is not None and (not isinstance(version, str) or not version.strip() or len(version) > MAX_VERSION):
            raise DocumentError(f"version is the issuer's label for this version: a non-empty string of at most "
                                f"{MAX_VERSION} characters, got {version!r}")
        achievement_type = definition.get("achievementType", "Badge")
        if isinstance(achievement_type, str) and achievement_type.startswith("ext:") \
                and not _EXT_ACHIEVEMENT_TYPE.match(achievement_type):
            raise DocumentError(f"achievementType {achievement_type!r}: an extension is 'ext:' followed by letters, "
                                "digits, '.', '-' or '_' (OB 3.0 AchievementType)")
        criteria = definition.get("criteria")
        if not isinstance(criteria, dict) or not isinstance(criteria.get("narrative"), str):
            raise DocumentError("an achievement definition needs criteria.narrative (a string)")
        extra = {k: v for k, v in definition.items() if k not in ("name", "description", "criteria")}
        extra_criteria = {k: v for k, v in criteria.items() if k != "narrative"}
        document = openbadges.achievement(
            self.config.achievement_url(achievement_id),
            name=definition.get("name"), description=definition.get("description"),
            criteria_narrative=criteria["narrative"], creator=self.records.profile(owner),
            achievement_type=extra.pop("achievementType", "Badge"), version=version or str(revision),
            extra=extra or None, types=types,
        )
        document["criteria"].update(extra_criteria)
        # What credentials will embed must conform to the 1EdTech schema's Achievement, or every
        # credential awarding it would fail schema checks at every verifier.
        conformance = schema.check_part(document, "Achievement")
        if not conformance.ok:
            raise DocumentError(f"the achievement does not conform to OB 3.0: {'; '.join(conformance.errors)}")
        published = openbadges.published_achievement(document, extension_contexts)
        # Refuse terms the pinned contexts do not define: a signature would not cover them.
        jsonld.assert_terms_defined({"@context": list(openbadges.CREDENTIAL_CONTEXTS), **published})
        undefined = types and jsonld.undefined_types({"@context": list(openbadges.CREDENTIAL_CONTEXTS), **published})
        if undefined:
            raise DocumentError(f"types not defined by the achievement's contexts: {', '.join(undefined)} (name the "
                                "extension context that defines them in @context, or give an absolute IRI)")
        return published

    def _extension_contexts(self, given: object) -> list[str]:
        """The registered extension contexts a definition names, each pinned in this process (a
        context another process registered is read from the event store)."""
        if given is None:
            return []
        urls = [given] if isinstance(given, str) else given
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise DocumentError("@context in an achievement definition lists the URLs of registered extension "
                                "contexts (the registry adds VC 2.0 and Open Badges 3.0 itself)")
        urls = [u for u in dict.fromkeys(urls) if u not in openbadges.CREDENTIAL_CONTEXTS]
        if len(urls) > MAX_EXTENSION_CONTEXTS:
            raise DocumentError(f"an achievement may use at most {MAX_EXTENSION_CONTEXTS} extension contexts")
        for url in urls:
            if url in contexts.PINNED:
                raise DocumentError(f"{url} is not a context achievements are issued under: name registered "
                                    "extension contexts only")
            registered = self.records.extension_context(url)
            contexts.register(url, registered.document.encode("utf-8"), registered.sha256)
        return urls


def _types(given: object) -> list[str]:
    """The achievement's types beside "Achievement" (which it always has)."""
    if given is None:
        return []
    types = [given] if isinstance(given, str) else given
    if not isinstance(types, list) or not all(isinstance(t, str) and t.strip() for t in types):
        raise DocumentError(f"type is a list of type names, got {given!r}")
    if "Achievement" not in types:
        raise DocumentError(f"an achievement's type must include \"Achievement\", got {types!r}")
    return [t for t in dict.fromkeys(types) if t != "Achievement"]

"""The public pages about the registry's contents: home with key figures, each organisation, each
achievement, the endorsement network and the event log. Query parameters are read by hand so a
malformed one is a page that says so (400), never a 500 or a JSON problem."""

from __future__ import annotations

import json
import re

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Redirect, Template

from registry.api.http import api_of
from registry.api.pages import log, network, reads
from registry.api.pages.rendering import PREFIX, PageInputError, language_of, page
from registry.api.pages.i18n import Translator
from registry.application import Registry

# The demo's (and a common) convention for levels kept as separate badges: "<module>: <level>".
LEVEL_NAME = re.compile(r"^(?P<module>.+?): (?P<level>[^:]+)$")


def registry_of(request: Request) -> Registry:
    return api_of(request.app.state).registry


@get("/", sync_to_thread=False, include_in_schema=False)
def root(request: Request) -> Redirect:
    """The registry's address leads a person to the pages (the API lives at its own paths)."""
    lang = request.query_params.get("lang")
    return Redirect(f"{PREFIX}" + (f"?lang={lang}" if lang in ("en", "nl") else ""), status_code=302)


@get(PREFIX, sync_to_thread=True, include_in_schema=False)
def home(request: Request) -> Template:
    registry = registry_of(request)
    return page(request, "home.html", current="home", figures=reads.figures(registry),
                issuers=reads.issuers(registry))


@get(f"{PREFIX}/issuers/{{slug:str}}", sync_to_thread=True, include_in_schema=False)
def issuer_page(request: Request, slug: FromPath[str]) -> Template:
    registry = registry_of(request)
    issuer = registry.issuer(slug)
    keys = registry.key_history(slug)
    given = registry.endorsements(by=slug)
    subjects = reads.names(registry, [e.subject_id for e in given])
    subject_slugs = reads.slugs(registry, [e.subject_issuer_id for e in given])
    return page(
        request, "issuer.html", issuer=issuer, keys=keys, timeline=key_timeline(keys),
        achievements=reads.achievements_of(registry, str(issuer.id)),
        received=reads.endorsements_received(registry, str(issuer.id)),
        given=given, subjects=subjects, subject_slugs=subject_slugs,
    )


def key_timeline(keys) -> list[tuple[str, str, str]]:
    """(instant, what happened, key) in time order: the key history as a person reads it."""
    moments = []
    for key in keys:
        moments.append((key.added_at, "key_added", key.verification_method))
        if key.compromised_since is not None:
            moments.append((key.compromised_since, "key_compromised", key.verification_method))
            moments.append((key.compromise_reported_at, "key_compromise_reported", key.verification_method))
        if key.retired_at is not None:
            moments.append((key.retired_at, "key_retired", key.verification_method))
    # A stable sort by time: at the same instant, keys keep the order they were added in and each
    # key's moments their natural order (a rotation retires the old key, then adds the new one).
    return sorted(moments, key=lambda m: m[0])


@get(f"{PREFIX}/achievements/{{achievement_id:str}}", sync_to_thread=True, include_in_schema=False)
def achievement_page(request: Request, achievement_id: FromPath[str]) -> Template:
    registry = registry_of(request)
    achievement = registry.achievement(achievement_id)
    document = json.loads(achievement.document)
    owner = registry.issuer_by_uuid(achievement.issuer_id)
    siblings = reads.achievements_of(registry, str(owner.id))
    required = reads.names(registry, [str(r) for r in achievement.requires])
    endorsements = registry.endorsements(of=str(achievement.id))
    endorsers = reads.names(registry, [e.endorser_id for e in endorsements])
    return page(
        request, "achievement.html", achievement=achievement, document=document, owner=owner,
        criteria=(document.get("criteria") or {}).get("narrative", ""),
        tags=as_list(document.get("tag")), rubric=rubric_levels(document),
        levels=levels_of(achievement.name, siblings), module=module_of(achievement.name),
        required=[(str(r), required.get(str(r), ("", str(r)))[1]) for r in achievement.requires],
        endorsements=endorsements, endorsers=endorsers,
    )


def as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def module_of(name: str) -> str | None:
    match = LEVEL_NAME.match(name)
    return match.group("module") if match else None


def levels_of(name: str, siblings: list[reads.AchievementRow]) -> list[reads.AchievementRow]:
    """The other levels of the same module from the same organisation (in the order defined), or
    [] when the name follows no "<module>: <level>" pattern or no sibling shares the module."""
    module = module_of(name)
    if module is None:
        return []
    same = [a for a in siblings if module_of(a.name) == module]
    return same if len(same) > 1 else []


def rubric_levels(document: dict) -> list[tuple[str, str]]:
    """OB 3.0's own levels: resultDescription[].rubricCriterionLevel[] (name, description)."""
    levels = []
    for result in as_dicts(document.get("resultDescription")):
        for level in as_dicts(result.get("rubricCriterionLevel")):
            levels.append((str(level.get("name", "")), str(level.get("description", ""))))
    return levels


def as_dicts(value) -> list[dict]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [item for item in items if isinstance(item, dict)]


@get(f"{PREFIX}/network", sync_to_thread=True, include_in_schema=False)
def network_page(request: Request) -> Template:
    registry = registry_of(request)
    issuers = [(i.id, i.slug, i.name) for i in reads.issuers(registry)]
    picture = network.build(issuers, reads.network_edges(registry))
    return page(request, "network.html", current="network", network=picture)


@get(f"{PREFIX}/events", sync_to_thread=True, include_in_schema=False)
def events_page(request: Request) -> Template:
    registry = registry_of(request)
    translate = Translator(language_of(request))
    after_text = (request.query_params.get("after") or "0").strip()
    if not after_text.isascii() or not after_text.isdigit() or len(after_text) > 15:
        raise PageInputError(translate("bad_position", value=after_text))
    type_name = request.query_params.get("type") or None
    if type_name is not None and type_name not in log.EVENT_TYPES:
        raise PageInputError(translate("bad_event_type", value=type_name))
    slug = request.query_params.get("issuer") or None
    issuer = registry.issuer(slug) if slug else None
    found = log.read(registry, after=int(after_text), type_name=type_name, issuer=issuer, prefix=PREFIX)
    return page(request, "events.html", current="events", log=found, type_name=type_name,
                issuer_slug=slug, event_types=list(log.EVENT_TYPES),
                issuers=reads.issuers(registry))

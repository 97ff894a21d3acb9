"""The public pages about the registry's contents: home with key figures, each organisation, each
achievement, the endorsement network and the event log. Query parameters are read by hand so a
malformed one is a page that says so (400), never a 500 or a JSON problem."""

from __future__ import annotations

import re
from dataclasses import dataclass

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from registry.api.pages import log, network
from registry.api.pages.i18n import Translator
from registry.api.pages.rendering import PREFIX, PageInputError, language_of, page
from registry.projections import AchievementView, Queries

# The demo's (and a common) convention for levels kept as separate badges: "<module>: <level>".
LEVEL_NAME = re.compile(r"^(?P<module>.+?): (?P<level>[^:]+)$")
HOME_ISSUERS = 100


@dataclass(frozen=True)
class IssuerRow:
    slug: str
    name: str
    did: str
    deactivated_at: str | None
    achievements: int
    credentials: int


@get("/", sync_to_thread=False, include_in_schema=False)
def root(request: Request) -> Redirect:
    """The registry's address leads a person to the pages (the API lives at its own paths)."""
    lang = request.query_params.get("lang")
    return Redirect(f"{PREFIX}" + (f"?lang={lang}" if lang in ("en", "nl") else ""), status_code=302)


@get(PREFIX, sync_to_thread=True, include_in_schema=False)
def home(request: Request, queries: NamedDependency[Queries]) -> Template:
    after = request.query_params.get("after") or None
    listed = queries.issuers_by_name(after=after, limit=HOME_ISSUERS)
    counts = queries.issuer_figures([i.id for i in listed.items])
    rows = [IssuerRow(i.slug, i.name, i.did, i.deactivated_at, *counts[i.id]) for i in listed.items]
    return page(request, "home.html", current="home", figures=queries.figures(), issuers=rows,
                next_issuers=listed.next_cursor, issuers_after=after)


@get(f"{PREFIX}/issuers/{{slug:str}}", sync_to_thread=True, include_in_schema=False)
def issuer_page(request: Request, queries: NamedDependency[Queries], slug: FromPath[str]) -> Template:
    issuer = queries.issuer(slug)
    keys = queries.keys(issuer.id)
    return page(
        request, "issuer.html", issuer=issuer, keys=keys, timeline=key_timeline(keys),
        achievements=queries.achievements(issuer=issuer.id, limit=1000).items,
        received=queries.endorsements(received_by=issuer.id).items,
        given=queries.endorsements(by=issuer.id).items,
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
def achievement_page(request: Request, queries: NamedDependency[Queries],
                     achievement_id: FromPath[str]) -> Template:
    achievement = queries.achievement(achievement_id)
    document = queries.achievement_document(achievement.id)
    siblings = queries.achievements(issuer=achievement.issuer_id, limit=1000).items
    required = queries.labels(achievement.requires)
    return page(
        request, "achievement.html", achievement=achievement, document=document,
        criteria=(document.get("criteria") or {}).get("narrative", ""),
        tags=as_list(document.get("tag")), rubric=rubric_levels(document),
        levels=levels_of(achievement.name, siblings), module=module_of(achievement.name),
        required=[(r, required.get(r, ("", r))[1]) for r in achievement.requires],
        endorsements=queries.endorsements(of=achievement.id).items,
    )


def as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def module_of(name: str) -> str | None:
    match = LEVEL_NAME.match(name)
    return match.group("module") if match else None


def levels_of(name: str, siblings: list[AchievementView]) -> list[AchievementView]:
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
def network_page(request: Request, queries: NamedDependency[Queries]) -> Template:
    issuers, edges = queries.network()
    picture = network.build([(i.id, i.slug, i.name) for i in issuers], edges)
    return page(request, "network.html", current="network", network=picture)


@get(f"{PREFIX}/audit", sync_to_thread=True, include_in_schema=False)
def audit_page(request: Request, queries: NamedDependency[Queries]) -> Template:
    """For public auditors: the latest signed checkpoint, the log key, and how to check the log."""
    queries.fresh()
    log = queries.log
    verifier = log.checkpointer.verifier()
    return page(request, "audit.html", current="audit", checkpoint=log.reader.latest(),
                key=None if verifier is None else verifier.vkey, refused=log.problem(),
                public_url=queries.config.public_url)


@get(f"{PREFIX}/events", sync_to_thread=True, include_in_schema=False)
def events_page(request: Request, queries: NamedDependency[Queries]) -> Template:
    translate = Translator(language_of(request))
    after_text = (request.query_params.get("after") or "0").strip()
    if not after_text.isascii() or not after_text.isdigit() or len(after_text) > 15:
        raise PageInputError(translate("bad_position", value=after_text))
    type_name = request.query_params.get("type") or None
    if type_name is not None and type_name not in log.EVENT_TYPES:
        raise PageInputError(translate("bad_event_type", value=type_name))
    slug = request.query_params.get("issuer") or None
    found = log.read(queries, after=int(after_text), type_name=type_name, issuer=slug, prefix=PREFIX)
    return page(request, "events.html", current="events", log=found, type_name=type_name,
                issuer_slug=slug, event_types=list(log.EVENT_TYPES),
                issuers=queries.issuers_by_name(limit=1000).items)

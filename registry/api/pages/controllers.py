"""The public pages about the registry's contents: home with key figures, each organisation, each
achievement, the endorsement network and the event log. Query parameters are read by hand so a
malformed one is a page that says so (400), never a 500 or a JSON problem."""

from __future__ import annotations

from dataclasses import dataclass

from litestar import Request, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.response import Redirect, Template

from registry.api.pages import log, network
from registry.api.pages.credential import picture
from registry.api.pages.i18n import Translator
from registry.api.pages.rendering import PREFIX, PageInputError, language_of, page
from registry.domain import DomainError, NotFound
from registry.domain.ladder import ladder_of
from registry.projections import Queries

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
        request, "issuer.html", issuer=issuer, keys=keys, timeline=key_timeline(keys), address=address_line(issuer.address),
        imported=queries.imports(issuer=issuer.id, limit=100).items,
        did_kind="web" if issuer.hosted else "own_web" if issuer.did.startswith("did:web:") else "key",
        picture=picture(queries, issuer.image, issuer.name, issuer.id, default=False),
        achievements=queries.achievements(issuer=issuer.id, limit=1000).items,
        received=queries.endorsements(received_by=issuer.id).items,
        given=queries.endorsements(by=issuer.id).items,
    )


def address_line(address: dict | None) -> str:
    """An OB Address on one line, as a letter would have it."""
    if not address:
        return ""
    place = " ".join(str(address[k]).strip() for k in ("postalCode", "addressLocality") if address.get(k))
    parts = [address.get("streetAddress"), address.get("postOfficeBoxNumber"), place, address.get("addressRegion"),
             address.get("addressCountry") or address.get("addressCountryCode")]
    return ", ".join(str(p).strip() for p in parts if p and str(p).strip())


def key_timeline(keys) -> list[tuple[str, str, str, str | None]]:
    """(instant, what happened, key, distrusted from) in time order: the key history as a person
    reads it, one entry for each thing that happened. A compromise is one entry, at the time it
    was reported, saying from when the key is distrusted (often before it was reported, even before
    the key was added); the retirement that a compromise report brings about is not another one."""
    moments = []
    for key in keys:
        vm = key.verification_method
        moments.append((key.added_at, "key_added", vm, None))
        if key.retired_at is not None and key.retired_at != key.compromise_reported_at:
            moments.append((key.retired_at, "key_retired", vm, None))
        if key.compromised_since is not None:
            moments.append((key.compromise_reported_at, "key_compromise_reported", vm, key.compromised_since))
    # A stable sort by time: at the same instant, keys keep the order they were added in and each
    # key's moments their natural order (a rotation retires the old key, then adds the new one).
    return sorted(moments, key=lambda m: m[0])


@get(f"{PREFIX}/achievements/{{achievement_id:str}}", sync_to_thread=True, include_in_schema=False)
def achievement_page(request: Request, queries: NamedDependency[Queries],
                     achievement_id: FromPath[str]) -> Template:
    achievement = queries.achievement(achievement_id)
    document = queries.achievement_document(achievement.id)
    required = queries.labels(achievement.requires)
    return page(
        request, "achievement.html", achievement=achievement, document=document,
        picture=picture(queries, document.get("image"), achievement.name, document.get("id") or achievement.id),
        criteria=(document.get("criteria") or {}).get("narrative", ""),
        tags=as_list(document.get("tag")), rubric=rubric_levels(document), ladder=ladder_rows(document),
        required=[(r, required.get(r, ("", r))[1], level_name(queries, r, achievement.minimum_levels.get(r)))
                  for r in achievement.requires],
        endorsements=queries.endorsements(of=achievement.id).items,
    )


@dataclass(frozen=True)
class LadderRow:
    name: str
    description: str
    lowest: str  # the lowest score of the band
    below: str | None  # the next level's lowest score (the band ends just under it)
    top: str | None  # the top level's band ends at valueMax (inclusive); None: open-ended


def ladder_rows(document: dict) -> list[LadderRow]:
    """The achievement's levels by score band, lowest first (registry.domain.ladder), or []."""
    try:
        found = ladder_of(document)
    except DomainError:  # a document published before ladders were checked: shown as a plain rubric
        return []
    if found is None:
        return []
    rows = []
    for level in found.levels:
        lowest, top = found.band(level)
        following = level.rank + 1 < len(found.levels)
        descriptions = [lv.get("description", "") for d in as_dicts(document.get("resultDescription"))
                        for lv in as_dicts(d.get("rubricCriterionLevel")) if lv.get("id") == level.id]
        rows.append(LadderRow(level.name, descriptions[0] if descriptions else "", _number(lowest),
                              _number(top) if following else None,
                              None if following or top is None else _number(top)))
    return rows


def _number(value) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def level_name(queries: Queries, achievement_id: str, level_id: str | None) -> str | None:
    """The name of a required minimum level, from the required achievement's ladder."""
    if level_id is None:
        return None
    try:
        found = ladder_of(queries.achievement_document(achievement_id))
    except (DomainError, NotFound):
        found = None
    names = {lv.id: lv.name for lv in found.levels} if found else {}
    return names.get(level_id, level_id.rsplit("#", 1)[-1])


def as_list(value) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def rubric_levels(document: dict) -> list[tuple[str, str]]:
    """OB 3.0's own levels without score bands: resultDescription[].rubricCriterionLevel[] (name,
    description); a ladder's levels are shown by ladder_rows instead."""
    if ladder_rows(document):
        return []
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

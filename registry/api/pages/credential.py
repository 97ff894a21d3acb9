"""A credential's own page, for the learner to share: `GET /credentials/{id}` answers it to a
browser (Accept: text/html) and the signed JSON to everything else (registry/api/credentials.py
negotiates). It shows the badge, what it certifies, who awarded it, the result, the dates, its
status now, endorsements, the verification checks, and how to share it: Open Graph and Twitter
card tags, an "Add to LinkedIn profile" link, a QR code of the page's address and downloads (the
JSON and the baked PNG and SVG). The recipient appears only as the credential names them: a
salted hash or a DID, never an address."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
import time
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from urllib.parse import urlencode

import anyio.to_thread
import segno
from litestar import Request, Response
from litestar.response import Template

from registry import artwork
from registry.api.pages.i18n import Translator
from registry.api.pages.rendering import error_page, language_of, page
from registry.badges import achievement_of, image_url
from registry.domain import NotFound
from registry.projections import Queries

LINKEDIN_ADD = "https://www.linkedin.com/profile/add"
HTML_TYPES = ("text/html", "application/xhtml+xml")
JSON_TYPES = ("application/json", "application/ld+json", "application/vc+ld+json")


def wants_html(accept: str | None) -> bool:
    """True when the client prefers HTML to JSON (a browser); JSON when it says nothing, */*,
    or ranks a JSON type at least as high."""
    html = json_q = 0.0
    for part in (accept or "").split(","):
        kind, _, params = part.strip().partition(";")
        kind = kind.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = max(0.0, min(1.0, float(value)))
                except ValueError:
                    quality = 0.0
        if kind in HTML_TYPES:
            html = max(html, quality)
        elif kind in JSON_TYPES or (kind.startswith("application/") and kind.endswith("+json")):
            json_q = max(json_q, quality)
    return html > 0 and html > json_q


@dataclass(frozen=True)
class ResultRow:
    name: str  # the ResultDescription's name, or ""
    value: str
    level: str  # the achieved level's name (or its id when the achievement does not name it)


@dataclass(frozen=True)
class Shown:
    """What the page shows, gathered in one worker-thread call."""

    id: str
    url: str
    document_text: str
    document: dict
    status: object  # CredentialStatus
    achievement: dict  # as the credential carries it
    achievement_view: object | None
    issuer: object  # IssuerView
    results: list[ResultRow]
    recipient: tuple[str, str]  # (kind, value): ("did", "did:key:..."), ("hashed", "emailAddress sha256$...")
    report: object
    endorsements: list
    image_src: str | None  # a stored image of this registry (same origin), else None: the default is inline
    default_badge: str  # inline SVG markup (generated, escaped)
    issuer_image: str | None
    qr: str
    og_image: str
    caused_by: str | None = None  # an automatic pathway's award: the credential that completed it
    reissued_from: object | None = None  # ImportView: the imported OB 2.0 badge this re-issues


@lru_cache(maxsize=2048)
def qr_svg(url: str) -> str:
    """The page's address as a QR code, inline SVG, made once per address. The mask is fixed: segno
    picks the best of eight by scoring each (about 10 ms of pure Python); every mask is a valid code
    that readers decode (tests decode it), at 1.5 ms."""
    return segno.make(url, error="m", mask=0).svg_inline(scale=1, border=2, dark="#12355b", omitsize=True,
                                                 svgclass="qr", title=url)


class Kept:
    """Pages as shown, per credential, kept by each worker: gathering verifies the credential and
    draws a QR code (about 10 ms), rendering takes a few; a kept page costs a position read and a
    lookup. A page is kept while the log has not moved, for at most SECONDS (expiry is a matter of
    time). When the log has moved (a busy registry writes all the time) it is still kept for
    BUSY_SECONDS, as long as the credential's own status is unchanged: a revocation or suspension
    shows at once; another organisation's endorsement or a newer checkpoint within seconds. Per
    credential: what was gathered, and the HTML rendered from it per (language, query)."""

    SECONDS = 60.0
    BUSY_SECONDS = 10.0
    SIZE = 1024

    def __init__(self) -> None:
        self.kept: dict[str, tuple[int, float, Shown, dict]] = {}
        self.lock = threading.Lock()

    def fresh(self, queries: Queries, found, position: int, now: float) -> bool:
        if found is None or now - found[1] >= self.SECONDS:
            return False
        if found[0] == position:
            return True
        if now - found[1] >= self.BUSY_SECONDS:
            return False
        status = queries.credential_status(found[2].id)
        return _status_of(status) == _status_of(found[2].status)

    def page(self, queries: Queries, ref: str, variant: tuple, render: Callable[[Shown], bytes]) -> bytes:
        position, now = queries.last_position(), time.monotonic()
        found = self.kept.get(ref)
        if not self.fresh(queries, found, position, now):
            found = (position, now, gather(queries, ref), {})
            with self.lock:
                if len(self.kept) >= self.SIZE:
                    self.kept.clear()
                self.kept[ref] = found
        pages = found[3]
        if variant not in pages:
            if len(pages) >= 8:  # a handful of languages and queries per credential
                pages.clear()
            pages[variant] = render(found[2])
        return pages[variant]


def kept_by(request: Request) -> Kept:
    """The app's pages kept (one per app: each worker's, over its own registry)."""
    state = request.app.state
    found = state.get("credential_pages")
    if found is None:
        found = state["credential_pages"] = Kept()
    return found


def _status_of(status) -> tuple:
    return status.status, status.reason, status.since, status.expired


def gather(queries: Queries, ref: str) -> Shown:
    record = queries.credential(ref)
    status = queries.credential_status(record.id)
    document = json.loads(record.document)
    achievement = achievement_of(document)
    try:
        view = queries.achievement(status.achievement_id)
        published = queries.achievement_document(view.id, status.achievement_version)
    except NotFound:  # an achievement defined elsewhere: the credential's own copy is all there is
        view, published = None, {}
    issuer = queries.issuer(status.issuer_id)
    config = queries.config
    url = config.credential_url(record.id)
    stored = queries.image_at(image_url(achievement.get("image")))
    name = str(achievement.get("name") or document.get("name") or "")
    default = artwork.badge_svg(name, str(achievement.get("id") or name)).split("\n", 1)[1]
    issuer_image = getattr(issuer, "image", None)
    issuer_stored = queries.image_at(issuer_image)
    endorsed = []
    for subject, kind in ((record.id, "credential"), (status.achievement_id, "achievement"), (issuer.slug, "issuer")):
        try:
            endorsed += [(kind, e) for e in queries.endorsements(of=subject).items]
        except NotFound:  # a subject the endorsements do not know is one without endorsements
            continue
    qr = qr_svg(url)
    return Shown(
        id=record.id, url=url, document_text=record.document, document=document, status=status,
        achievement=achievement, achievement_view=view, issuer=issuer,
        results=results_of(document, achievement, published), recipient=recipient_of(document),
        report=queries.verify(document), endorsements=endorsed,
        image_src=None if stored is None else f"/images/{stored.sha256}.{stored.extension}",
        default_badge=default,
        issuer_image=None if issuer_stored is None else f"/images/{issuer_stored.sha256}.{issuer_stored.extension}",
        qr=qr, og_image=f"{url}/baked.png", caused_by=getattr(record, "caused_by", None),
        reissued_from=queries.reissue_of(record.id))


def _dicts(value) -> list[dict]:
    items = value if isinstance(value, list) else [value] if value is not None else []
    return [item for item in items if isinstance(item, dict)]


def results_of(document: dict, achievement: dict, published: dict) -> list[ResultRow]:
    """OB 3.0 Results: value and achieved level, named from the achievement's resultDescription
    (the credential's copy first, then the published version it was issued for)."""
    descriptions = {d.get("id"): d for d in _dicts(published.get("resultDescription"))}
    descriptions.update({d.get("id"): d for d in _dicts(achievement.get("resultDescription"))})
    levels = {level.get("id"): level for d in descriptions.values() for level in _dicts(d.get("rubricCriterionLevel"))}
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    rows = []
    for result in _dicts(subject.get("result") if isinstance(subject, dict) else None):
        described = descriptions.get(result.get("resultDescription")) or {}
        level_id = result.get("achievedLevel")
        level = levels.get(level_id) or {}
        rows.append(ResultRow(name=str(described.get("name") or ""), value=str(result.get("value") or ""),
                              level=str(level.get("name") or level_id or "")))
    return [r for r in rows if r.value or r.level]


def recipient_of(document: dict) -> tuple[str, str]:
    subject = document.get("credentialSubject")
    subject = subject[0] if isinstance(subject, list) and subject else subject
    if not isinstance(subject, dict):
        return "unknown", ""
    if isinstance(subject.get("id"), str) and subject["id"].startswith("did:"):
        return "did", subject["id"]
    for identity in _dicts(subject.get("identifier")):
        if identity.get("hashed") is True or str(identity.get("identityHash", "")).startswith(("sha256$", "md5$")):
            return "hashed", str(identity.get("identityHash", ""))
    return "unknown", ""  # never shown: an unhashed identifier is not put on a public page


def linkedin_url(name: str, organisation: str, issued: str, url: str, credential_id: str,
                 valid_until: str | None) -> str:
    """LinkedIn's documented add-to-profile link (a certification, filled in for the member)."""
    moment = datetime.fromisoformat(issued.replace("Z", "+00:00"))
    query = {"startTask": "CERTIFICATION_NAME", "name": name, "organizationName": organisation,
             "issueYear": moment.year, "issueMonth": moment.month, "certUrl": url, "certId": credential_id}
    if valid_until:
        until = datetime.fromisoformat(valid_until.replace("Z", "+00:00"))
        query |= {"expirationYear": until.year, "expirationMonth": until.month}
    return f"{LINKEDIN_ADD}?{urlencode(query)}"


def render(request: Request, shown: Shown | None) -> Template:
    """The page's template with what every page has; the credential's facts come from `facts`."""
    template = page(request, "credential.html", **(facts(request, shown) if shown is not None else {}))
    template.headers["Vary"] = "Accept, Accept-Language"
    return template


def facts(request: Request, shown: Shown) -> dict:
    translate = Translator(language_of(request))
    name = str(shown.achievement.get("name") or shown.document.get("name") or "")
    description = str(shown.achievement.get("description") or "")
    criteria = (shown.achievement.get("criteria") or {}).get("narrative", "") if isinstance(
        shown.achievement.get("criteria"), dict) else ""
    status = shown.status
    issued = shown.document.get("validFrom") or status.valid_from
    state = ("revoked" if status.status == "revoked" else "suspended" if status.status == "suspended"
             else "compromised" if status.status == "compromised" else "expired" if status.expired else "active")
    og_description = translate("credential_og_description", issuer=shown.issuer.name,
                               description=description or name)
    return dict(
        shown=shown, name=name, description=description, criteria=criteria,
        state=state, issued=issued, valid_until=shown.document.get("validUntil"),
        og_description=og_description[:300],
        linkedin=linkedin_url(name, shown.issuer.name, issued, shown.url, shown.id, shown.document.get("validUntil")),
    )


async def credential_html(request: Request, queries: Queries, ref: str) -> Response | Template:
    """The page, or an error page in the visitor's language (a 404 for an unknown id)."""
    template = render(request, None)  # the headers (language, policy) and how to render
    engine = request.app.template_engine

    def html(shown: Shown) -> bytes:
        template.context["shown"] = shown
        template.context.update(facts(request, shown))
        return engine.get_template(template.template_name).render(**template.context).encode("utf-8")

    variant = (template.context["lang"], request.scope.get("query_string", b""))
    try:
        body = await anyio.to_thread.run_sync(kept_by(request).page, queries, ref, variant, html)
        return Response(content=body, status_code=200, media_type="text/html; charset=utf-8",
                        headers=template.headers)
    except Exception as exc:  # shown as a page, with the status the API would give
        template = error_page(request, exc)
        template.headers["Vary"] = "Accept, Accept-Language"
        return template


@dataclass(frozen=True)
class Picture:
    """An image for a page: a stored image of this registry (same origin, allowed by the pages'
    policy), else None and the generated default as inline SVG markup."""

    src: str | None
    inline: str | None


def picture(queries: Queries, url: object, name: str, seed: str, *, default: bool = True) -> Picture:
    stored = queries.image_at(image_url(url))
    if stored is not None:
        return Picture(f"/images/{stored.sha256}.{stored.extension}", None)
    return Picture(None, artwork.badge_svg(name, seed).split("\n", 1)[1] if default else None)

"""What every page shares: the Jinja environment (autoescaped, strict about undefined names), the
language of a request, links that keep it, and errors shown as pages rather than JSON."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlencode

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup
from litestar import Request
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig

from registry.api.pages.i18n import LANGUAGES, Translator, choose_language
from registry.api.problems import classify

API_ROOT = Path(__file__).resolve().parents[1]
TEMPLATES = API_ROOT / "templates"
STATIC = API_ROOT / "static"
PREFIX = "/pages"
# The pages run no script and load nothing from elsewhere: a policy that forbids both makes any
# markup an organisation's data could smuggle in inert.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; "
                               "form-action 'self'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def template_config() -> TemplateConfig:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined,
        trim_blocks=True, lstrip_blocks=True,
    )
    environment.filters["did"] = did
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


def did(value: object) -> Markup:
    """A DID (or a key: DID#fragment) as a person reads it, in code: a did:web's host is
    percent-encoded (did:web:localhost%3A8000), which reads as did:web:localhost:8000. The exact
    DID, the one to copy, stays in the title and in data-did. Anything else is shown as it is."""
    text = str(value)
    readable = unquote(text) if text.startswith("did:web:") else text
    if readable == text:
        return Markup('<code class="id">{}</code>').format(text)
    return Markup('<code class="id did" title="{0}" data-did="{0}">{1}</code>').format(text, readable)


class PageInputError(ValueError):
    """A query parameter or form a person sent that the page cannot use: shown with status 400."""


def language_of(request: Request) -> str:
    return choose_language(request.query_params.get("lang"), request.headers.get("accept-language"))


def href_for(language: str):
    def href(path: str, **query: Any) -> str:
        """A link inside the pages that keeps the language; None values are left out."""
        params = {k: v for k, v in query.items() if v not in (None, "")}
        params["lang"] = language
        return f"{path}?{urlencode(params)}"

    return href


def page(request: Request, template: str, *, status: int = 200, current: str = "",
         **context: Any) -> Template:
    language = language_of(request)
    other = next(code for code in LANGUAGES if code != language)
    # The switch keeps the page's own query (a filter, a position) and changes only the language.
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    switch = f"{request.url.path}?{urlencode({**query, 'lang': other})}"
    return Template(
        template_name=template, status_code=status, media_type="text/html",
        headers={"Content-Language": language, "Vary": "Accept-Language", **SECURITY_HEADERS},
        context={"lang": language, "other_lang": other, "t": Translator(language),
                 "href": href_for(language), "switch_href": switch, "current": current,
                 "prefix": PREFIX, **context},
    )


# --- errors as pages ---------------------------------------------------------------------------------


def error_page(request: Request, exc: Exception) -> Template:
    """Errors as a page in the visitor's language, with the status the API would give (one
    mapping: registry.api.problems.classify); a fault of the registry names its problem id only."""
    translate = Translator(language_of(request))
    if isinstance(exc, PageInputError):
        status, detail = 400, str(exc)
    else:
        found = classify(request, exc)
        status, detail = found.status, found.detail
        if status == 500:
            detail = translate("error_500_text", problem=found.problem_id)
    title = translate(f"error_{status}") if translate.has(f"error_{status}") else translate("error_title")
    return page(request, "error.html", status=status, title=title, detail=detail)


ERROR_PAGES = {Exception: error_page}

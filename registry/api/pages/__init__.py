"""Public pages for people: server-rendered HTML (no JavaScript), English and Dutch, over the same
Registry as the API. `pages_router()` mounts them under /pages (and / leads there);
`template_config()` is the Jinja setup the app needs to render them."""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.static_files import create_static_files_router

from registry.api.pages.controllers import (
    audit_page,
    achievement_page,
    events_page,
    home,
    issuer_page,
    network_page,
    root,
)
from registry.api.pages.kpis import HANDLERS as KPI_PAGES
from registry.api.pages.rendering import ERROR_PAGES, PREFIX, STATIC, template_config
from registry.api.pages.verify import verify_form, verify_submitted

__all__ = ["pages_router", "template_config"]


def pages_router() -> Router:
    static = create_static_files_router(
        path=f"{PREFIX}/static", directories=[STATIC], name="pages-static",
        cache_control=CacheControlHeader(public=True, max_age=3600))
    return Router(
        path="/", include_in_schema=False, exception_handlers=ERROR_PAGES,
        route_handlers=[root, home, issuer_page, achievement_page, network_page, events_page, audit_page,
                        verify_form, verify_submitted, *KPI_PAGES, static],
    )

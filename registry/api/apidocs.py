"""The API's documentation pages without a network: Swagger UI at /schema/swagger and Redoc at
/schema (and /schema/redoc), their scripts and styles served by the registry itself from
static/apidocs (vendored npm packages; versions and SHA-256 in static/apidocs/README.md). Litestar's
render plugins default to CDN addresses, which leave the pages blank offline or behind a firewall."""

from __future__ import annotations

from litestar import Router
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import JsonRenderPlugin, RedocRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.static_files import create_static_files_router

from registry.api.pages.rendering import STATIC

ASSETS = "/schema/assets"
ASSET_FILES = STATIC / "apidocs"
NO_FAVICON = "<link rel='icon' href='data:,'>"  # the default one is fetched from a CDN


def render_plugins() -> list:
    return [
        RedocRenderPlugin(path=["/", "/redoc"], js_url=f"{ASSETS}/redoc.standalone.js", google_fonts=False,
                          favicon=NO_FAVICON),
        SwaggerRenderPlugin(js_url=f"{ASSETS}/swagger-ui-bundle.js", css_url=f"{ASSETS}/swagger-ui.css",
                            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
                            favicon=NO_FAVICON),
        JsonRenderPlugin(), YamlRenderPlugin(),
    ]


def assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS, directories=[ASSET_FILES], name="apidocs-assets", include_in_schema=False,
        cache_control=CacheControlHeader(public=True, max_age=86400))

"""The API docs' own assets: Swagger UI's built JS, CSS and favicon, served from the installed
swagger-ui-py package under /schema, so that the docs page loads with no internet."""

from __future__ import annotations

from importlib.metadata import version
from importlib.util import find_spec
from pathlib import Path

from litestar import Router, get
from litestar.datastructures import CacheControlHeader
from litestar.exceptions import NotFoundException
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin
from litestar.params import FromPath
from litestar.response import File

PACKAGE = "swagger-ui-py"
# The package's version is part of every asset URL: a new version is a new URL, so a browser may
# keep each file for a year without asking again.
PATH = f"/schema/assets/swagger-ui/{version(PACKAGE)}"
# The files the page loads, each with its media type (Litestar adds "; charset=utf-8" to text/*);
# no other file is served.
MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
YEAR = 365 * 24 * 3600


def _static_directory() -> Path:
    # Found without importing swagger_ui: its package imports Jinja2 and its framework handlers.
    spec = find_spec("swagger_ui")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(f"{PACKAGE} is not installed: the API docs have no Swagger UI")
    directory = Path(next(iter(spec.submodule_search_locations))) / "static"
    missing = [name for name in MEDIA_TYPES if not (directory / name).is_file()]
    if missing:
        raise RuntimeError(f"{PACKAGE} {version(PACKAGE)} ships no {', '.join(missing)} in {directory}")
    return directory


STATIC = _static_directory()


@get(
    "/{name:str}",
    sync_to_thread=False,
    include_in_schema=False,
    cache_control=CacheControlHeader(public=True, max_age=YEAR, immutable=True),
)
def asset(name: FromPath[str]) -> File:
    # `name` is one path segment and must be one of the files above: nothing else can be reached.
    media_type = MEDIA_TYPES.get(name)
    if media_type is None:
        raise NotFoundException()
    return File(STATIC / name, media_type=media_type, content_disposition_type="inline")


def docs_assets() -> Router:
    """The asset routes; public, as the JWT middleware lets every path under /schema through."""
    return Router(PATH, route_handlers=[asset], include_in_schema=False)


def docs_render_plugins() -> list[OpenAPIRenderPlugin]:
    """Swagger UI, at /schema/swagger and /schema itself, with every asset from the routes above."""
    return [
        SwaggerRenderPlugin(
            js_url=f"{PATH}/swagger-ui-bundle.js",
            css_url=f"{PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{PATH}/favicon-32x32.png'>",
        )
    ]

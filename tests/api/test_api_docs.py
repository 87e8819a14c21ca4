"""The API docs pages load every script, style sheet and icon from the service itself, without a
token, so that they work on a machine with no internet (src/api/docs_assets.py)."""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from api.docs_assets import PATH

PAGES = ("/schema", "/schema/swagger")
# What each kind of asset is answered with, and the least it must weigh.
EXPECTED = {".js": ("text/javascript", 10_000), ".css": ("text/css", 10_000), ".png": ("image/png", 100)}


class References(HTMLParser):
    """Every src= and href= of a page, with the tag that holds it."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.extend((tag, value) for name, value in attrs if name in ("src", "href") and value)


async def page_references(http: httpx.AsyncClient, page: str) -> list[tuple[str, str]]:
    response = await http.get(page)
    assert response.status_code == 200, (page, response.text)
    assert response.headers["content-type"].startswith("text/html")
    assert "SwaggerUIBundle(" in response.text
    parser = References()
    parser.feed(response.text)
    return parser.found


@pytest.mark.parametrize("page", PAGES)
async def test_docs_page_references_only_its_own_assets(http: httpx.AsyncClient, page: str) -> None:
    references = await page_references(http, page)
    tags = {tag for tag, _ in references}
    assert {"script", "link"} <= tags, references
    for tag, url in references:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, (page, tag, url)
        assert url.startswith(f"{PATH}/"), (page, tag, url)


@pytest.mark.parametrize("page", PAGES)
async def test_every_asset_of_a_docs_page_is_served(http: httpx.AsyncClient, page: str) -> None:
    urls = {url for _, url in await page_references(http, page)}
    assert {f"{PATH}/swagger-ui-bundle.js", f"{PATH}/swagger-ui.css"} <= urls, urls
    for url in sorted(urls):
        # No Authorization header: the docs are public.
        response = await http.get(url)
        assert response.status_code == 200, (url, response.text)
        media_type, least = EXPECTED[url[url.rindex(".") :]]
        assert response.headers["content-type"].split(";")[0] == media_type, (url, response.headers)
        assert len(response.content) >= least, (url, len(response.content))
        cache = response.headers["cache-control"]
        assert "max-age=31536000" in cache and "immutable" in cache, (url, cache)


async def test_only_the_listed_files_are_served(http: httpx.AsyncClient) -> None:
    for name in (
        "index.css",  # shipped by the package, but the page loads no such file
        "oauth2-redirect.html",
        "swagger-editor-bundle.js",
        "..%2Fcore.py",
        "%2E%2E%2F%2E%2E%2Fswagger_ui%2Fcore.py",
    ):
        response = await http.get(f"{PATH}/{name}")
        assert response.status_code == 404, (name, response.status_code)


async def test_the_assets_are_not_in_the_openapi_document(http: httpx.AsyncClient) -> None:
    paths = (await http.get("/schema/openapi.json")).json()["paths"]
    assert paths and not [path for path in paths if path.startswith("/schema")], sorted(paths)

"""The API's metrics: request counts and latencies by route template and status, over real HTTP,
served on a listener of their own (API_METRICS_PORT), never on the API's public one."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar.testing import AsyncTestClient
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.metrics import HttpMetrics
from devstack.net import free_port
from domain.access import Role
from domain.metric_names import Source, exported_series
from tests.api.conftest import Stack, TokenFactory
from tests.support.metrics import exposed_names
from tests.support.secrets import session_settings

APPOINTMENT_ROUTE = "/api/appointments/{id}"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _count(samples: dict, method: str, route: str, status: int) -> float:
    labels = frozenset({"method": method, "route": route, "status": str(status)}.items())
    return samples.get(("http_requests_total", labels), 0.0)


@pytest.fixture
async def scrape(stack: Stack) -> AsyncIterator[httpx.AsyncClient]:
    """The metrics listener, as Prometheus reaches it."""
    port = stack.settings.api_metrics_port
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        yield client


async def test_requests_are_counted_by_route_template_and_status(
    http: httpx.AsyncClient, scrape: httpx.AsyncClient, auth: TokenFactory
) -> None:
    before = _samples((await scrape.get("/metrics")).text)
    agent = auth(Role.AGENT)
    unknown = [str(uuid.uuid4()) for _ in range(3)]
    for appointment_id in unknown:
        assert (await http.get(f"/api/appointments/{appointment_id}", headers=agent)).status_code == 404
    assert (await http.get(f"/api/appointments/{unknown[0]}")).status_code == 401
    assert (await http.get(f"/no/such/path/{unknown[0]}")).status_code == 404
    assert (await http.get("/health")).status_code == 200

    response = await scrape.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    after = _samples(text)

    assert _count(after, "GET", APPOINTMENT_ROUTE, 404) - _count(before, "GET", APPOINTMENT_ROUTE, 404) == 3
    # The 401 comes from the authentication middleware, before the handler: still counted.
    assert _count(after, "GET", APPOINTMENT_ROUTE, 401) - _count(before, "GET", APPOINTMENT_ROUTE, 401) == 1
    assert _count(after, "GET", "<unmatched>", 404) >= 1
    assert _count(after, "GET", "/health", 200) >= 1
    duration = frozenset({"method": "GET", "route": APPOINTMENT_ROUTE}.items())
    assert after[("http_request_duration_seconds_count", duration)] >= 4
    assert after[("http_request_duration_seconds_sum", duration)] > 0
    # Route templates only: no raw path, hence no appointment id, ever becomes a label.
    assert not UUID.search(text)
    assert "process_resident_memory_bytes" in text or "python_info" in text


async def test_every_api_metric_of_the_catalogue_is_exported(
    http: httpx.AsyncClient, scrape: httpx.AsyncClient
) -> None:
    # What the dashboard and the alerts name of the API (domain.metric_names), once a request is in.
    assert (await http.get("/health")).status_code == 200
    exposed = exposed_names((await scrape.get("/metrics")).text)
    promised = set(exported_series(Source.API))
    assert promised <= exposed, promised - exposed


async def test_metrics_are_not_served_on_the_public_listener(
    http: httpx.AsyncClient, scrape: httpx.AsyncClient
) -> None:
    assert (await http.get("/metrics")).status_code == 404
    assert (await scrape.get("/metrics")).status_code == 200
    schema = (await http.get("/schema/openapi.json")).json()
    assert "/metrics" not in schema["paths"]


async def test_openmetrics_when_the_scraper_asks_for_it(scrape: httpx.AsyncClient) -> None:
    response = await scrape.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.rstrip().endswith("# EOF")


async def test_each_app_counts_into_its_own_registry() -> None:
    # Several apps in one process (as in these tests): no duplicate-timeseries error, no sharing.
    closed = free_port()
    settings = session_settings(
        {
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/nothing",
            "TEMPORAL_ADDRESS": f"127.0.0.1:{closed}",
        }
    )
    apps = create_app(settings), create_app(settings)
    async with AsyncTestClient(app=apps[0]) as first, AsyncTestClient(app=apps[1]):
        await first.get("/only/in/first")
    first_text, second_text = (
        generate_latest(app.plugins.get(HttpMetrics).registry).decode() for app in apps
    )
    assert _count(_samples(first_text), "GET", "<unmatched>", 404) == 1
    assert _count(_samples(second_text), "GET", "<unmatched>", 404) == 0

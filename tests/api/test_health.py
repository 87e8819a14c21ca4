"""`/health` says 503, with the reason, when a dependency does not answer."""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from api.app import create_app
from devstack.net import free_port
from tests.support.secrets import session_settings


async def test_health_is_503_when_database_and_temporal_are_away() -> None:
    closed = free_port()
    settings = session_settings(
        {
            "DATABASE_URL": f"postgresql://postgres@127.0.0.1:{closed}/nothing",
            "TEMPORAL_ADDRESS": f"127.0.0.1:{closed}",
        }
    )
    async with AsyncTestClient(app=create_app(settings)) as client:
        response = await client.get("/health")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"].startswith("down") and body["temporal"].startswith("down")

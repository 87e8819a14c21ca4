"""`GET /health`: ready when both the database and Temporal answer."""

from __future__ import annotations

import asyncio

import msgspec
from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client


class Health(msgspec.Struct):
    status: str
    database: str
    temporal: str


async def _probe(check: object) -> str:
    try:
        await asyncio.wait_for(check, timeout=2)  # type: ignore[arg-type]
    except Exception as exc:  # any failure means "not ready", whatever its kind
        return f"down: {type(exc).__name__}"
    return "up"


async def _database(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


@get(
    "/health",
    exclude_from_auth=True,
    security=[{}],  # no credentials: the empty requirement (an empty list would inherit the bearer token)
    tags=["Operations"],
    summary="Readiness of the API and its dependencies",
    responses={
        503: ResponseSpec(data_container=Health, description="The database or Temporal does not answer")
    },
)
async def health(engine: NamedDependency[AsyncEngine], temporal: NamedDependency[Client]) -> Response[Health]:
    database, workflow_service = await asyncio.gather(
        _probe(_database(engine)), _probe(temporal.service_client.check_health())
    )
    ok = database == "up" and workflow_service == "up"
    return Response(
        Health(status="up" if ok else "down", database=database, temporal=workflow_service),
        status_code=200 if ok else 503,
    )

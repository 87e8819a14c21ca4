"""The service as it runs in production, inside the test process: a worker and uvicorn."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.app import create_app
from config import Settings
from worker import build_worker


@asynccontextmanager
async def running_service(
    client: Client, settings: Settings, engine: AsyncEngine, *, with_worker: bool = True
) -> AsyncIterator[str]:
    """Serve the API on settings.http_port, with a worker on settings.task_queue unless told
    otherwise (another replica of the API may share one); yields its URL."""
    worker = build_worker(client, settings, engine) if with_worker else None
    worker_task = asyncio.create_task(worker.run()) if worker is not None else None
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=settings.http_port,
            log_level="warning",
            lifespan="on",
        )
    )
    server_task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if server_task.done():
                server_task.result()
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{settings.http_port}"
    finally:
        server.should_exit = True
        await server_task
        if worker is not None and worker_task is not None:
            await worker.shutdown()
            await worker_task


async def read_request(scope: dict[str, Any], receive: Any) -> tuple[bytes, dict[str, str]]:
    """The whole body of an ASGI HTTP request and its headers (names in lower case)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    return body, {k.decode().lower(): v.decode() for k, v in scope["headers"]}


async def serve_asgi(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """A plain ASGI app (a webhook receiver, an identity provider) served by uvicorn on loopback."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    return server, task

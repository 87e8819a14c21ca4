"""A real HTTP receiver for webhook tests, served by uvicorn on loopback.

Each path can be told how to answer (a status sequence, or to hang); every request is kept
with its raw body and headers, so tests check signatures and order as a receiver would.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from devstack.net import free_port
from tests.support.serving import read_request, serve_asgi


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    received: list[Received] = field(default_factory=list)
    # path -> statuses to answer in turn (the last one repeats); absent: 200.
    statuses: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    hanging: set[str] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def at(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, headers = await read_request(scope, receive)
        path = scope["path"]
        if path in self.hanging:
            await asyncio.sleep(3600)
        self.received.append(Received(path, headers, body))
        planned = self.statuses.get(path) or [200]
        status = planned.pop(0) if len(planned) > 1 else planned[0]
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
        await send({"type": "http.response.body", "body": b""})

    async def wait_for(self, path: str, count: int, timeout: float = 15) -> list[Received]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while len(self.at(path)) < count:  # noqa: ASYNC110 - polls what the server task appends
                await asyncio.sleep(0.05)
        return self.at(path)


async def start_receiver() -> tuple[Receiver, uvicorn.Server, asyncio.Task[None]]:
    receiver = Receiver(port=free_port())
    return receiver, *await serve_asgi(receiver, receiver.port)

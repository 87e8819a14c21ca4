"""The bare reference of the read-path benchmark: Litestar and asyncpg, nothing else.

`GET /api/appointments/{id}` runs the service's single-row select and answers the stored
document as it is: no authentication, no middleware, no decoding or view. It is served like the
service (uvicorn, one process, the options of `python -m api`), so the difference between the
two is what the service does per request.

`python -m bench.reference_app PORT DSN [--no-reset]` (DSN: a plain `postgresql://` URL for
asyncpg). asyncpg's pool resets every connection it takes back, a round trip the service's read
connections skip (storage.read_connections); `--no-reset` makes the reference skip it too.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import uvicorn
from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException

from storage.appointments import GET_DOC

# As many connections as the service keeps for this read (storage.database.create_read_connections).
POOL_SIZE = 20


async def _keep_session(_connection: asyncpg.Connection) -> None:
    return None


def create_app(dsn: str, *, reset: bool) -> Litestar:
    options = {} if reset else {"reset": _keep_session}

    @asynccontextmanager
    async def pool(app: Litestar) -> AsyncIterator[None]:
        async with asyncpg.create_pool(dsn, min_size=POOL_SIZE, max_size=POOL_SIZE, **options) as created:
            app.state.pool = created
            yield

    @get("/api/appointments/{appointment_id:str}")
    async def get_appointment(appointment_id: str, state: State) -> Response[bytes]:
        doc = await state.pool.fetchval(GET_DOC, uuid.UUID(appointment_id))
        if doc is None:
            raise NotFoundException()
        return Response(doc.encode(), media_type="application/json")

    return Litestar(route_handlers=[get_appointment], lifespan=[pool], logging_config=None)


def main() -> None:
    port, dsn = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(
        create_app(dsn, reset="--no-reset" not in sys.argv[3:]),
        host="127.0.0.1",
        port=port,
        proxy_headers=True,
        access_log=False,
        log_config=None,
        log_level="warning",
    )


if __name__ == "__main__":
    main()

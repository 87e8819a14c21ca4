"""`python -m api`: serve the API with uvicorn on HTTP_PORT."""

from __future__ import annotations

import gc

import uvicorn

from api.app import create_app
from config import load_settings
from config.logs import configure_logging
from temporal_access.runtime import forward_core_logs


def main() -> None:
    settings = load_settings()
    # Our logging (LOG_FORMAT, LOG_LEVEL) for every logger, uvicorn's included: log_config=None
    # keeps uvicorn from installing its own handlers. Requests are logged by api.metrics.
    configure_logging(settings.log_level, json=settings.log_format == "json")
    forward_core_logs()
    app = create_app(settings)
    # The modules and the app (some 130,000 objects) live as long as the process: frozen, they
    # are no longer rescanned by every full collection, which under load took several percent
    # of the CPU and made the slowest requests wait tens of milliseconds.
    gc.freeze()
    uvicorn.run(
        app,
        host="0.0.0.0",
        port=settings.http_port,
        proxy_headers=True,
        access_log=False,
        log_config=None,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()

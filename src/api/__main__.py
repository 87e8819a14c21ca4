"""`python -m api`: serve the API with uvicorn on HTTP_PORT."""

from __future__ import annotations

import uvicorn

from config import load_settings
from config.logs import configure_logging
from temporal_access.runtime import forward_core_logs


def main() -> None:
    settings = load_settings()
    # Our logging (LOG_FORMAT, LOG_LEVEL) for every logger, uvicorn's included: log_config=None
    # keeps uvicorn from installing its own handlers. Requests are logged by api.metrics.
    configure_logging(settings.log_level, json=settings.log_format == "json")
    forward_core_logs()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host="0.0.0.0",
        port=settings.http_port,
        proxy_headers=True,
        access_log=False,
        log_config=None,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()

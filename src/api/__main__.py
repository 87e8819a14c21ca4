"""`python -m api`: serve the API with uvicorn on HTTP_HOST:HTTP_PORT."""

from __future__ import annotations

import gc
import sys

import uvicorn

from api.app import create_app
from config import load_settings
from config.logs import configure_logging
from config.secrets import Process, check_secrets
from config.settings import SettingsError
from config.tracing import API_SERVICE, start_tracing
from temporal_access.codec import CodecKeyError
from temporal_access.runtime import forward_core_logs


def main() -> None:
    try:
        settings = load_settings()
        check_secrets(settings, Process.API)
        # Our logging (LOG_FORMAT, LOG_LEVEL) for every logger, uvicorn's included: log_config=None
        # keeps uvicorn from installing its own handlers. Requests are logged by api.metrics.
        configure_logging(settings.log_level, json=settings.log_format == "json")
        start_tracing(settings, API_SERVICE)
        forward_core_logs()
        app = create_app(settings)
    except (SettingsError, CodecKeyError) as error:
        # One line naming the variable: the process never serves a request on a bad setting.
        print(f"appointments api: {error}", file=sys.stderr)
        sys.exit(2)
    # The modules and the app (some 130,000 objects) live as long as the process: frozen, they
    # are no longer rescanned by every full collection, which under load took several percent
    # of the CPU and made the slowest requests wait tens of milliseconds.
    gc.freeze()
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        proxy_headers=True,
        access_log=False,
        log_config=None,
        log_level=settings.log_level.lower(),
    )


if __name__ == "__main__":
    main()

"""`python -m api`: serve the API with uvicorn on HTTP_PORT."""

from __future__ import annotations

import uvicorn

from config import load_settings


def main() -> None:
    settings = load_settings()
    uvicorn.run(
        "api.app:create_app",
        factory=True,
        host="0.0.0.0",
        port=settings.http_port,
        proxy_headers=True,
        access_log=False,
        log_level="info",
    )


if __name__ == "__main__":
    main()

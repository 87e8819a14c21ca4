"""Request bodies as a client of the contract would send them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def schedule_body(start: datetime | str | None = None, **overrides: Any) -> dict[str, Any]:
    start = start or datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    body: dict[str, Any] = {
        "customer": {
            "contact": {"primaryEmail": "user@provider.net", "primaryPhone": "2102234988"},
            "metadata": {"refNo": "CS-9838"},
            "name": {"firstName": "Bobby", "lastName": "Ewing"},
            "username": "ewingb@myorg.com",
        },
        "duration": "PT5M",
        "interaction": {
            "customFields": {"property1": "string"},
            "routing": {"properties": {"deploymentId": "c461a74"}, "type": "GENESYS_CLOUD_FLOW"},
        },
        "locale": "en-GB",
        "metadata": {"prop1": "value1"},
        "notes": "CRM ref: 3nv-1gt-4rt",
        "start": start if isinstance(start, str) else iso(start),
        "timezone": "Europe/Berlin",
        "title": "Product installation review",
    }
    body.update(overrides)
    return body

"""The body of a new webhook subscription."""

from __future__ import annotations

from typing import Annotated

import msgspec

from domain.fields import Request


class CreateWebhookRequest(Request):
    """A subscription: `events` are event type names or `*`; `secret` signs every delivery; the
    values of `headers` are written, never read back."""

    url: Annotated[str, msgspec.Meta(examples=["https://crm.example.com/hooks/appointments"])]
    events: Annotated[list[str], msgspec.Meta(examples=[["APPOINTMENT_CREATED", "APPOINTMENT_CANCELLED"]])]
    secret: Annotated[str, msgspec.Meta(description="16 to 256 characters; never returned")]
    headers: Annotated[
        dict[str, str], msgspec.Meta(description="Extra headers sent with every delivery (at most 20)")
    ] = {}

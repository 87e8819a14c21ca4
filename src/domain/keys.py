"""Everything the service derives from its SERVICE_SECRET: one key per purpose.

A key per purpose means that no value made for one use (a calendar link) can be passed off for
another (an appointment id), and that knowing the inputs is never enough: an appointment id made
from an `Idempotency-Key` cannot be computed by whoever knows or guesses that key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from enum import StrEnum


class Purpose(StrEnum):
    RESOURCE_ID = "resource-id"
    ONE_TIME_CODE = "one-time-code"
    CALENDAR_LINK = "calendar-link"
    RATE_LIMIT = "rate-limit"
    REQUEST_FINGERPRINT = "request-fingerprint"


# 128 bits: as unguessable as a random UUID.
_TOKEN_BYTES = 16


class ServiceKeys:
    def __init__(self, secret: str) -> None:
        master = secret.encode()
        self._keys = {
            purpose: hmac.new(master, f"appointments:{purpose.value}".encode(), hashlib.sha256).digest()
            for purpose in Purpose
        }

    def key(self, purpose: Purpose) -> bytes:
        return self._keys[purpose]

    def digest(self, purpose: Purpose, message: str) -> bytes:
        return hmac.new(self._keys[purpose], message.encode(), hashlib.sha256).digest()

    def resource_id(self, scope: str, key: str) -> str:
        """The id that `key` stands for within `scope`: a UUID (version 4 layout) nobody else can compute."""
        raw = bytearray(self.digest(Purpose.RESOURCE_ID, f"{scope}\0{key}")[:16])
        raw[6] = (raw[6] & 0x0F) | 0x40
        raw[8] = (raw[8] & 0x3F) | 0x80
        return str(uuid.UUID(bytes=bytes(raw)))

    def calendar_token(self, appointment_id: str) -> str:
        """What the calendar links mailed to participants carry: it admits the room's URL."""
        digest = self.digest(Purpose.CALENDAR_LINK, appointment_id)[:_TOKEN_BYTES]
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def is_calendar_token(self, appointment_id: str, token: str | None) -> bool:
        if not token:
            return False
        return hmac.compare_digest(self.calendar_token(appointment_id), token)

    def pseudonym(self, value: str) -> str:
        """A stable stand-in for an address or a mailbox, so that stored counters name nobody."""
        return self.digest(Purpose.RATE_LIMIT, value)[:_TOKEN_BYTES].hex()

"""One-time passwords for customer self-scheduling and email verification: six digits, hashed,
short-lived, single use."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


class CodeHasher:
    """Keyed hashes: a stolen table alone does not let anyone test the million codes."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def hash(self, application_id: str, email: str, code: str) -> str:
        message = f"{application_id}\0{email}\0{code}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def matches(self, stored: str, application_id: str, email: str, code: str) -> bool:
        return hmac.compare_digest(stored, self.hash(application_id, email, code))

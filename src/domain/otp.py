"""One-time passwords for customer self-scheduling: six digits, hashed, short-lived."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from domain.errors import invalid, shown

TTL = timedelta(minutes=10)
MAX_ATTEMPTS = 5
# More codes than this for one address within ISSUE_WINDOW are refused (mail bombing).
MAX_ISSUED = 5
ISSUE_WINDOW = timedelta(minutes=15)

_EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$")


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def normalize_email(field: str, raw: str) -> str:
    email = raw.strip()
    if not _EMAIL.match(email):
        raise invalid(field, f"{field}: {shown(raw)} is not an email address")
    return email.lower()


class CodeHasher:
    """Keyed hashes: a stolen table alone does not let anyone test the million codes."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"appointments-otp\0" + secret.encode()).digest()

    def hash(self, application_id: str, email: str, code: str) -> str:
        message = f"{application_id}\0{email}\0{code}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()

    def matches(self, stored: str, application_id: str, email: str, code: str) -> bool:
        return hmac.compare_digest(stored, self.hash(application_id, email, code))

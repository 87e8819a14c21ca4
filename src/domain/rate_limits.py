"""How often a client, a mailbox or an application may do what costs the service (or a third
party's mailbox) something: one table, counted in fixed windows by `storage.rate_limits`.

Each limit counts one kind of subject: the client's address (`CLIENT`, IPv6 clients by their
/64), a mailbox (`domain.email_address.mailbox`: every spelling of one address counts once) or an
application. A request over any of its limits is answered 429 with `Retry-After`.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum

import msgspec


class Subject(StrEnum):
    CLIENT = "client"
    MAILBOX = "mailbox"
    APPLICATION = "application"


class Limit(msgspec.Struct, frozen=True):
    name: str
    subject: Subject
    requests: int
    window: timedelta

    def describe(self) -> str:
        """`5 per 15 minutes per mailbox`."""
        minutes = int(self.window.total_seconds() // 60)
        window = {1: "a minute", 60: "an hour"}.get(minutes, f"per {minutes} minutes")
        return f"{self.requests} {window} per {self.subject.value}"


MINUTE = timedelta(minutes=1)
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)

# Each limit's requests may be changed by the operator (RATE_LIMITS=name=requests,...).

# The public reads: slot and overlap counts, calendar events.
PUBLIC_READS = Limit("public-read", Subject.CLIENT, 300, MINUTE)

# One-time passwords for customer self-scheduling: each is an email to a mailbox nobody vouched for.
OTP_PER_CLIENT = Limit("otp-client", Subject.CLIENT, 10, QUARTER)
OTP_PER_MAILBOX = Limit("otp-mailbox", Subject.MAILBOX, 5, QUARTER)
OTP_PER_APPLICATION = Limit("otp-application", Subject.APPLICATION, 500, HOUR)
# Scheduling with Basic email:password: guesses of a code, across codes and mailboxes.
BASIC_LOGIN_PER_CLIENT = Limit("basic-login-client", Subject.CLIENT, 30, QUARTER)
# Mail an admin has the service send (verification codes, test emails).
ADMIN_MAIL_PER_APPLICATION = Limit("admin-mail-application", Subject.APPLICATION, 30, HOUR)
ADMIN_MAIL_PER_MAILBOX = Limit("admin-mail-mailbox", Subject.MAILBOX, 10, HOUR)

ALL_LIMITS = (
    PUBLIC_READS,
    OTP_PER_CLIENT,
    OTP_PER_MAILBOX,
    OTP_PER_APPLICATION,
    BASIC_LOGIN_PER_CLIENT,
    ADMIN_MAIL_PER_APPLICATION,
    ADMIN_MAIL_PER_MAILBOX,
)

# Counters older than this are pruned; every window above fits in it.
RETENTION = timedelta(days=1)

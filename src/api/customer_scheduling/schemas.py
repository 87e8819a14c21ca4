"""The body of a customer's request for a one-time password."""

from __future__ import annotations

from domain.fields import Email, Id, Request


class OtpRequest(Request):
    application_id: Id
    email: Email

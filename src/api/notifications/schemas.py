"""The bodies of the email service's verification and of its test emails, named as in the contract."""

from __future__ import annotations

from typing import Annotated

import msgspec

from domain import values
from domain.errors import DomainError
from domain.fields import Duration, Email, Id, Locale, MessageBody, Request, ShortText, Subject
from domain.notifications import Channel, NotificationType, Template
from domain.settings_rules import check_template


class ServiceVerificationRequest(Request):
    """Starts the email service verification: a code is mailed to `toEmail`."""

    to_email: Email
    application_id: Id | None = None


class ServiceConfirmationRequest(Request):
    code: Annotated[str, msgspec.Meta(max_length=20, examples=["063780"])]
    application_id: Id | None = None


class EmailNotificationRequest(Request):
    """A template rendered with sample data."""

    to_email: Email
    subject: Subject
    text_body: MessageBody
    type: NotificationType = NotificationType.CREATE
    channel: Channel = Channel.EMAIL
    html_body: MessageBody | None = None
    locale: Locale | None = None
    period: Duration | None = None
    timezone: ShortText = "UTC"
    application_id: Id | None = None

    def to_template(self) -> Template:
        """The template, with errors naming this body's fields (`textBody`, not `templates[0]...`)."""
        template = Template(
            type=self.type,
            channel=self.channel,
            locale=self.locale,
            subject=values.parse_text("subject", self.subject).strip(),
            text_body=values.parse_multiline_text("textBody", self.text_body),
            html_body=values.optional(values.parse_multiline_text, "htmlBody", self.html_body),
            # Its maximum is checked with the template's other rules.
            period=None if self.period is None else values.parse_duration_field("period", self.period, None),
        )
        try:
            return check_template(template, 0)
        except DomainError as exc:
            raise exc.without_prefix("templates[0].") from None

"""`/api/notifications/emails`: verify an application's email service and send test emails."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage

from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from api.auth.guards import requires
from api.errors import ServiceUnavailable
from api.schemas import EmailNotificationRequest, ServiceConfirmationRequest, ServiceVerificationRequest
from config import Settings
from domain import calendar, otp, rendering
from domain.access import Principal, Role
from domain.durations import unquote
from domain.errors import DomainError, ErrorKind, forbidden, invalid
from domain.notifications import ApplicationSettings, NotificationType
from mail.sender import MailDeliveryError, SmtpSender
from storage.applications import ApplicationStore, ConfirmOutcome

log = logging.getLogger("api.notifications")
PrincipalRequest = Request[Principal, str, object]


def _application_of(principal: Principal, application_id: str | None) -> str:
    if application_id is not None and application_id != principal.application_id:
        raise forbidden("applicationId differs from the application of the token")
    return principal.application_id


def _verification_message(to: str, code: str) -> EmailMessage:
    message = EmailMessage()
    message["To"] = to
    message["Subject"] = f"Email service verification code: {code}"
    minutes = int(otp.TTL.total_seconds() // 60)
    message.set_content(
        f"Your code to confirm the email service of your appointments application is {code}.\n\n"
        f"It is valid for {minutes} minutes. If you did not ask for it, ignore this email.\n"
    )
    return message


async def _send(mailer: SmtpSender, message: EmailMessage, field: str) -> None:
    try:
        await mailer.send(message)
    except MailDeliveryError as exc:
        log.warning("notification email not delivered: %s", exc)
        if exc.permanent:
            raise invalid(field, f"{field}: the mail server refused this address ({exc})") from None
        raise ServiceUnavailable("the mail server is unavailable; try again later") from None


class NotificationController(Controller):
    path = "/api/notifications/emails"
    tags = ["Notifications"]

    @post(
        "/verify",
        guards=[requires(Role.ADMIN)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Start the email service verification: mail a 6-digit code",
        description=(
            "Mails a code valid for 10 minutes to `toEmail`; `/confirm` completes the verification. "
            "A new request replaces the code pending for the application."
        ),
    )
    async def verify(
        self,
        data: JSONBody[ServiceVerificationRequest],
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
        hasher: NamedDependency[otp.CodeHasher],
        mailer: NamedDependency[SmtpSender],
    ) -> None:
        application_id = _application_of(request.user, data.application_id)
        email = otp.normalize_email("toEmail", data.to_email)
        code = otp.new_code()
        expires = datetime.now(UTC) + otp.TTL
        await applications.start_verification(
            application_id, email, hasher.hash(application_id, email, code), expires
        )
        await _send(mailer, _verification_message(email, code), "toEmail")

    @post(
        "/confirm",
        guards=[requires(Role.ADMIN)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Confirm the email service verification with the mailed code",
    )
    async def confirm(
        self,
        data: JSONBody[ServiceConfirmationRequest],
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
        hasher: NamedDependency[otp.CodeHasher],
    ) -> None:
        application_id = _application_of(request.user, data.application_id)
        code = unquote(data.code)
        outcome = await applications.confirm_verification(
            application_id,
            lambda stored, email: hasher.matches(stored, application_id, email, code),
            datetime.now(UTC),
        )
        if outcome is ConfirmOutcome.NONE_PENDING:
            raise DomainError(
                ErrorKind.NOT_FOUND, "no verification code is pending, or it expired; request a new one"
            )
        if outcome is ConfirmOutcome.WRONG:
            raise invalid("code", "code: the verification code is wrong")

    @post(
        "/test",
        guards=[requires(Role.ADMIN)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Send a template, rendered with sample data, to an address",
    )
    async def test(
        self,
        data: JSONBody[EmailNotificationRequest],
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
        mailer: NamedDependency[SmtpSender],
        config: NamedDependency[Settings],
    ) -> None:
        application_id = _application_of(request.user, data.application_id)
        to_email = otp.normalize_email("toEmail", data.to_email)
        template = data.to_template()
        now = datetime.now(UTC)
        appointment, recipient = rendering.sample_appointment(
            application_id, data.timezone, template.locale, now
        )
        stored = await applications.get(application_id)
        settings = stored.settings if stored is not None else ApplicationSettings()
        room_url = f"{settings.room_base_url or config.room_base_url}/q/sample"
        links = rendering.Links(
            room_url=room_url,
            ical_url=f"{config.public_base_url}/api/cal/events/ical/{appointment.id}/event",
            google_url=calendar.google_calendar_url(
                appointment, calendar.event_description(appointment, room_url)
            ),
        )
        message = EmailMessage()
        if settings.mail_from:
            message["From"] = settings.mail_from
        message["To"] = to_email
        subject = rendering.render(template.subject, appointment, recipient, links)
        message["Subject"] = " ".join(subject.split())
        message.set_content(rendering.render(template.text_body, appointment, recipient, links))
        if template.html_body:
            message.add_alternative(
                rendering.render(template.html_body, appointment, recipient, links, html=True), subtype="html"
            )
        method = "CANCEL" if template.type is NotificationType.CANCELLED else "PUBLISH"
        message.add_attachment(
            calendar.ics(
                appointment,
                method=method,
                organizer_email=None,
                description=calendar.event_description(appointment, room_url),
                url=room_url,
            ),
            maintype="text",
            subtype="calendar",
            filename="appointment.ics",
            params={"method": method},
        )
        await _send(mailer, message, "toEmail")

"""`/api/notifications/emails`: verify an application's email service and send test emails."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from api.auth.guards import PrincipalRequest, own_application, requires
from api.mailing import code_message, send_or_raise
from api.notifications.schemas import (
    EmailNotificationRequest,
    ServiceConfirmationRequest,
    ServiceVerificationRequest,
)
from api.rate_limiting import RateLimits
from config import Settings
from domain import otp, rendering
from domain.access import NamedBy, Role
from domain.durations import unquote
from domain.email_address import mailbox, parse_address
from domain.errors import DomainError, ErrorKind, invalid
from domain.keys import ServiceKeys
from domain.model import ROOM_TYPE, RoomAccess
from domain.notifications import ApplicationSettings
from domain.rate_limits import ADMIN_MAIL_PER_APPLICATION, ADMIN_MAIL_PER_MAILBOX
from mail.compose import compose
from mail.sender import SmtpSender
from storage.applications import ApplicationStore, ConfirmOutcome

# Admins act on their own application; a body's `applicationId` may only repeat it.
ADMIN_OF_THIS_APPLICATION = {**requires(Role.ADMIN), **own_application(NamedBy.BODY)}


async def _admin_mail(rate_limits: RateLimits, application_id: str, to: str) -> None:
    """An email an admin has the service send: limited per application and per recipient."""
    await rate_limits.check(
        (ADMIN_MAIL_PER_APPLICATION, application_id), (ADMIN_MAIL_PER_MAILBOX, mailbox(to))
    )


_MAIL_LIMITS = f"At most {ADMIN_MAIL_PER_APPLICATION.describe()} and {ADMIN_MAIL_PER_MAILBOX.describe()}."


class NotificationController(Controller):
    path = "/api/notifications/emails"
    tags = ["Notifications"]

    @post(
        "/verify",
        opt=ADMIN_OF_THIS_APPLICATION,
        status_code=HTTP_204_NO_CONTENT,
        summary="Start the email service verification: mail a 6-digit code",
        description=(
            "Mails a code valid for 10 minutes to `toEmail`; `/confirm` completes the verification. "
            f"A new request replaces the code pending for the application. {_MAIL_LIMITS}"
        ),
    )
    async def verify_email_service(
        self,
        data: JSONBody[ServiceVerificationRequest],
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
        hasher: NamedDependency[otp.CodeHasher],
        mailer: NamedDependency[SmtpSender],
        rate_limits: NamedDependency[RateLimits],
    ) -> None:
        application_id = request.user.application_id
        email = parse_address("toEmail", data.to_email)
        await _admin_mail(rate_limits, application_id, email)
        code = otp.new_code()
        expires = datetime.now(UTC) + otp.TTL
        await applications.start_verification(
            application_id, email, hasher.hash(application_id, email, code), expires
        )
        await send_or_raise(
            mailer,
            code_message(
                mailer,
                email,
                "Email service verification code",
                "confirm the email service of your appointments application",
                code,
            ),
            "toEmail",
        )

    @post(
        "/confirm",
        opt=ADMIN_OF_THIS_APPLICATION,
        status_code=HTTP_204_NO_CONTENT,
        summary="Confirm the email service verification with the mailed code",
    )
    async def confirm_email_service(
        self,
        data: JSONBody[ServiceConfirmationRequest],
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
        hasher: NamedDependency[otp.CodeHasher],
    ) -> None:
        application_id = request.user.application_id
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
        opt=ADMIN_OF_THIS_APPLICATION,
        status_code=HTTP_204_NO_CONTENT,
        summary="Send a template, rendered with sample data, to an address",
        description=_MAIL_LIMITS,
    )
    async def send_test_email(
        self,
        data: JSONBody[EmailNotificationRequest],
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
        mailer: NamedDependency[SmtpSender],
        config: NamedDependency[Settings],
        keys: NamedDependency[ServiceKeys],
        rate_limits: NamedDependency[RateLimits],
    ) -> None:
        application_id = request.user.application_id
        to_email = parse_address("toEmail", data.to_email)
        template = data.to_template()
        await _admin_mail(rate_limits, application_id, to_email)
        now = datetime.now(UTC)
        appointment, recipient = rendering.sample_appointment(
            application_id, data.timezone, template.locale, now
        )
        stored = await applications.get(application_id)
        settings = stored.settings if stored is not None else ApplicationSettings()
        # Rendered exactly as a real notification is, with a sample room in the application's service.
        room = RoomAccess(
            url=f"{settings.room_base_url or config.room_base_url}/q/sample",
            type=ROOM_TYPE,
            expires=appointment.end,
        )
        message = compose(
            template.type,
            template,
            msgspec.structs.replace(appointment, room_access=room),
            recipient,
            to=to_email,
            sender=settings.sender(stored.verified_email if stored else None) or mailer.sender,
            public_base_url=config.public_base_url,
            keys=keys,
            delivery_key=f"test:{uuid.uuid4()}",
        )
        await send_or_raise(mailer, message, "toEmail")

"""Customer self-scheduling: a one-time password by email, then Basic email:password.

Only for applications whose admin turned it on (`customerSelfScheduling`), and within the
limits of domain.rate_limits: per client, per mailbox (every spelling of one counts as one,
whatever the application) and per application.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from api.appointments.schemas import ScheduleAppointmentRequest
from api.customer_scheduling.schemas import OtpRequest
from api.mailing import code_message, send_or_raise
from api.rate_limiting import PerClient, RateLimits
from api.workflow_gateway import AppointmentWorkflows
from domain import lifecycle, otp
from domain.access import Principal, Role
from domain.email_address import mailbox, parse_address
from domain.errors import DomainError, ErrorKind, invalid
from domain.model import Contact, Participant, ParticipantType
from domain.rate_limits import BASIC_LOGIN_PER_CLIENT, OTP_PER_APPLICATION, OTP_PER_CLIENT, OTP_PER_MAILBOX
from domain.views import GetAppointmentResponse, present
from mail.sender import SmtpSender
from storage.applications import ApplicationStore
from storage.otps import OtpStore

# The challenge of a 401, so that clients know to send Basic email:one-time password.
BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="appointments", charset="UTF-8"'}


def _unauthorized(message: str) -> NotAuthorizedException:
    return NotAuthorizedException(message, headers=BASIC_CHALLENGE)


def _credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise _unauthorized("Basic credentials (email:one-time password) are required")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("the Basic credentials are not valid base64") from None
    email, sep, code = decoded.partition(":")
    if not sep:
        raise _unauthorized("the Basic credentials must be email:one-time password")
    return email, code


def basic_credentials(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: challenge a request without Basic credentials before its body is read."""
    _credentials(connection.headers.get("authorization", ""))


async def _require_self_scheduling(applications: ApplicationStore, application_id: str) -> None:
    stored = await applications.get(application_id)
    if stored is None or not stored.settings.customer_self_scheduling:
        # The same answer for an unknown application and one that does not allow it.
        raise DomainError(
            ErrorKind.NOT_FOUND,
            "applicationId: no application with customer self-scheduling has this id",
            "applicationId",
        )


class CustomerSchedulingController(Controller):
    path = "/api/appointments/basic"
    tags = ["Appointments"]

    @post(
        "/otp",
        exclude_from_auth=True,
        security=[],
        status_code=HTTP_204_NO_CONTENT,
        guards=[PerClient(OTP_PER_CLIENT)],
        summary="Email a one-time password to a customer",
        description=(
            "For applications with `customerSelfScheduling`. At most "
            f"{OTP_PER_MAILBOX.describe()}, {OTP_PER_CLIENT.describe()} and "
            f"{OTP_PER_APPLICATION.describe()}; a new code retires the previous one."
        ),
    )
    async def request_customer_otp(
        self,
        data: JSONBody[OtpRequest],
        otps: NamedDependency[OtpStore],
        hasher: NamedDependency[otp.CodeHasher],
        mailer: NamedDependency[SmtpSender],
        applications: NamedDependency[ApplicationStore],
        rate_limits: NamedDependency[RateLimits],
    ) -> None:
        email = parse_address("email", data.email)
        await _require_self_scheduling(applications, data.application_id)
        await rate_limits.check((OTP_PER_MAILBOX, mailbox(email)), (OTP_PER_APPLICATION, data.application_id))
        code = otp.new_code()
        await otps.issue(data.application_id, email, hasher.hash(data.application_id, email, code), _now())
        message = code_message(mailer, email, "Your verification code", "schedule a video appointment", code)
        await send_or_raise(mailer, message, "email")

    @post(
        "/",
        exclude_from_auth=True,
        security=[{"basicOtp": []}],
        status_code=HTTP_200_OK,
        guards=[PerClient(BASIC_LOGIN_PER_CLIENT), basic_credentials],
        summary="Schedule an appointment as a customer (Basic email:one-time password)",
    )
    async def schedule_appointment_as_customer(
        self,
        request: Request,
        data: JSONBody[ScheduleAppointmentRequest],
        otps: NamedDependency[OtpStore],
        hasher: NamedDependency[otp.CodeHasher],
        workflows: NamedDependency[AppointmentWorkflows],
        applications: NamedDependency[ApplicationStore],
    ) -> GetAppointmentResponse:
        raw_email, code = _credentials(request.headers.get("authorization", ""))
        if data.application_id is None:
            raise invalid("applicationId", "applicationId: required when a customer schedules")
        application_id = data.application_id
        try:
            email = parse_address("email", raw_email)
        except DomainError:
            raise _unauthorized("invalid email or one-time password") from None
        # Validate the body before spending the password on it.
        customer = Principal(
            sub=str(uuid.uuid4()), roles=frozenset({Role.CUSTOMER}), application_id=application_id
        )
        request_details = msgspec.structs.replace(data, customer=None).to_domain(application_id)
        now = _now()
        lifecycle.check_schedule(request_details.start, request_details.duration, now)
        details = data.customer.checked("customer") if data.customer else None
        await _require_self_scheduling(applications, application_id)
        accepted = await otps.consume(
            application_id, email, lambda stored: hasher.matches(stored, application_id, email, code), now
        )
        if not accepted:
            raise _unauthorized("invalid email or one-time password")
        organizer = Participant(
            id=customer.sub,
            type=ParticipantType.CUSTOMER,
            name=details.name if details else None,
            contact=Contact(
                primary_email=email,
                primary_phone=details.contact.primary_phone if details and details.contact else None,
            ),
            metadata=details.metadata if details else {},
            username=details.username if details else None,
        )
        appointment = lifecycle.create(
            request_details,
            appointment_id=str(uuid.uuid4()),
            organizer=organizer,
            customer_id=customer.sub,
            now=now,
        )
        scheduled = await workflows.schedule(appointment)
        return present(scheduled, msgspec.structs.replace(customer, conference_id=scheduled.id))


def _now() -> datetime:
    return datetime.now(UTC)

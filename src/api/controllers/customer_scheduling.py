"""Customer self-scheduling: a one-time password by email, then Basic email:password."""

from __future__ import annotations

import base64
import binascii
import uuid
from datetime import UTC, datetime

import msgspec
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from api.errors import TooManyRequests
from api.mailing import code_message, send_or_raise
from api.schemas import OtpRequest, ScheduleAppointmentRequest, present
from api.workflow_gateway import AppointmentWorkflows
from domain import lifecycle, otp
from domain.access import Principal, Role
from domain.errors import DomainError, invalid
from domain.model import Contact, Participant, ParticipantType
from domain.views import AppointmentView
from mail.sender import SmtpSender
from storage.otps import OtpStore


def _credentials(header: str) -> tuple[str, str]:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise NotAuthorizedException("Basic credentials (email:one-time password) are required")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise NotAuthorizedException("the Basic credentials are not valid base64") from None
    email, sep, code = decoded.partition(":")
    if not sep:
        raise NotAuthorizedException("the Basic credentials must be email:one-time password")
    return email, code


class CustomerSchedulingController(Controller):
    path = "/api/appointments/basic"
    tags = ["Customer self-scheduling"]

    @post(
        "/otp",
        exclude_from_auth=True,
        security=[],
        status_code=HTTP_204_NO_CONTENT,
        summary="Email a one-time password to a customer",
    )
    async def request_otp(
        self,
        data: JSONBody[OtpRequest],
        otps: NamedDependency[OtpStore],
        hasher: NamedDependency[otp.CodeHasher],
        mailer: NamedDependency[SmtpSender],
    ) -> None:
        email = otp.normalize_email("email", data.email)
        code = otp.new_code()
        stored = await otps.issue(
            data.application_id, email, hasher.hash(data.application_id, email, code), _now()
        )
        if not stored:
            raise TooManyRequests(
                "too many codes were requested for this address; try again in a few minutes"
            )
        message = code_message(email, "Your verification code", "schedule a video appointment", code)
        await send_or_raise(mailer, message, "email")

    @post(
        "/",
        exclude_from_auth=True,
        security=[{"basicOtp": []}],
        status_code=HTTP_200_OK,
        summary="Schedule an appointment as a customer (Basic email:one-time password)",
    )
    async def schedule_as_customer(
        self,
        request: Request,
        data: JSONBody[ScheduleAppointmentRequest],
        otps: NamedDependency[OtpStore],
        hasher: NamedDependency[otp.CodeHasher],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        raw_email, code = _credentials(request.headers.get("authorization", ""))
        if data.application_id is None:
            raise invalid("applicationId", "applicationId: required when a customer schedules")
        application_id = data.application_id
        try:
            email = otp.normalize_email("email", raw_email)
        except DomainError:
            raise NotAuthorizedException("invalid email or one-time password") from None
        # Validate the body before spending the password on it.
        customer = Principal(
            sub=str(uuid.uuid4()), roles=frozenset({Role.CUSTOMER}), application_id=application_id
        )
        request_details = msgspec.structs.replace(data, customer=None).to_domain(customer)
        now = _now()
        lifecycle.check_schedule(request_details.start, request_details.duration, now)
        accepted = await otps.consume(
            application_id, email, lambda stored: hasher.matches(stored, application_id, email, code), now
        )
        if not accepted:
            raise NotAuthorizedException("invalid email or one-time password")
        details = data.customer.to_domain() if data.customer else None
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

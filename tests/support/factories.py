"""Domain objects for tests, built through the same rules the service uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from domain import lifecycle
from domain.access import Principal, Role
from domain.lifecycle import CustomerDetails, NewAppointment
from domain.model import Appointment, Contact, Name, Participant, ParticipantType

APPLICATION = "bf8215e5-a39e-490a-a0e2-07df6a3d8c1f"


def principal(*roles: Role, sub: str | None = None, application_id: str = APPLICATION) -> Principal:
    return Principal(
        sub=sub or str(uuid.uuid4()), roles=frozenset(roles or (Role.AGENT,)), application_id=application_id
    )


def new_appointment(
    organizer: Principal,
    *,
    start: datetime | None = None,
    duration: timedelta = timedelta(minutes=30),
    now: datetime | None = None,
) -> Appointment:
    now = now or datetime.now(UTC)
    return lifecycle.create(
        NewAppointment(
            application_id=organizer.application_id,
            start=start or now + timedelta(days=1),
            duration=duration,
            timezone="Europe/Berlin",
            locale="en-GB",
            title="Product installation review",
            customer=CustomerDetails(
                name=Name(first_name="Bobby", last_name="Ewing"),
                contact=Contact(primary_email="bobby@example.test"),
            ),
        ),
        appointment_id=str(uuid.uuid4()),
        organizer=Participant(id=organizer.sub, type=ParticipantType.AGENT),
        customer_id=str(uuid.uuid4()),
        now=now,
    )

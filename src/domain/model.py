"""The appointment as the workflow holds it and the read model stores it.

Frozen msgspec structs with camelCase names: the same types travel through Temporal
(see workflows.converter) and are projected into Postgres, so there is one type system.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from domain.fields import Email, ShortText


class Base(msgspec.Struct, frozen=True, kw_only=True, rename="camel", omit_defaults=True):
    pass


class ParticipantType(StrEnum):
    AGENT = "AGENT"
    CUSTOMER = "CUSTOMER"


class Status(StrEnum):
    SCHEDULED = "SCHEDULED"
    ACTIVATED = "ACTIVATED"
    ENDED = "ENDED"
    DELETED = "DELETED"

    @property
    def is_open(self) -> bool:
        return self in (Status.SCHEDULED, Status.ACTIVATED)

    @property
    def is_visible(self) -> bool:
        return self is not Status.DELETED


class InteractionState(StrEnum):
    PENDING = "PENDING"
    ENDED = "ENDED"
    # The scheduled end (plus grace) passed without anyone ending the interaction.
    EXPIRED = "EXPIRED"


# The parts of an appointment a client writes are decoded straight from its requests: their
# constraints (domain.fields) bound what a request can make the workflow hold.


class Name(Base):
    first_name: ShortText | None = None
    last_name: ShortText | None = None


class Contact(Base):
    primary_email: Email | None = None
    primary_phone: ShortText | None = None


class Routing(Base):
    type: ShortText | None = None
    properties: dict[str, str] = {}


class Interaction(Base):
    """A request's `state` is ignored: an appointment's interaction starts PENDING."""

    routing: Routing | None = None
    custom_fields: dict[str, str] = {}
    state: InteractionState = InteractionState.PENDING


class ParticipantRef(Base):
    id: str
    type: ParticipantType


class Participant(Base):
    """An agent's participant id is its user id; a customer gets an id of its own."""

    id: str
    type: ParticipantType
    name: Name | None = None
    contact: Contact | None = None
    metadata: dict[str, Any] = {}
    username: str | None = None

    @property
    def ref(self) -> ParticipantRef:
        return ParticipantRef(id=self.id, type=self.type)


# Rooms are opened with a ticket URL that every participant may use until it expires.
ROOM_TYPE = "MULTI_USE_TICKET"


class RoomAccess(Base):
    url: str
    type: str
    expires: datetime


class Appointment(Base):
    id: str
    application_id: str
    organizer: ParticipantRef
    participants: tuple[Participant, ...]
    start: datetime
    duration: timedelta
    timezone: str
    created_at: datetime
    updated_at: datetime
    locale: str | None = None
    title: str | None = None
    notes: str | None = None
    metadata: dict[str, Any] = {}
    interaction: Interaction = Interaction()
    notifications_active: bool = False
    room_access: RoomAccess | None = None
    status: Status = Status.SCHEDULED
    # Bumped by every accepted change; the read model only ever moves forward in it.
    version: int = 1
    # iCalendar SEQUENCE: bumped by every change of the schedule.
    sequence: int = 0

    @property
    def end(self) -> datetime:
        return self.start + self.duration

    def participant(self, participant_id: str) -> Participant | None:
        return next((p for p in self.participants if p.id == participant_id), None)

    def involves_agent(self, user_id: str) -> bool:
        if self.organizer.type is ParticipantType.AGENT and self.organizer.id == user_id:
            return True
        return any(p.type is ParticipantType.AGENT and p.id == user_id for p in self.participants)


class WorkflowPolicy(Base):
    """What an appointment's workflow needs from configuration, fixed when it is scheduled."""

    end_grace: timedelta = timedelta(hours=1)
    # A run continues as new once its history holds this many events, whether or not the server
    # suggests it (Temporal's default suggestion comes at the same count; a server may suggest later,
    # or never, as the time-skipping test server): the bound of every run's history. Never so low
    # that a fresh run, or the handing over itself, would reach it.
    history_limit: Annotated[int, msgspec.Meta(ge=100)] = 4096


class RoomRequest(Base):
    """What the room provisioning activity needs to open a video room."""

    appointment_id: str
    application_id: str
    expires: datetime
    # The application's own video service, when it has one; else the service-wide default.
    base_url: str | None = None

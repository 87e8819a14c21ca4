"""The appointment as the API shows it: the contract's GetAppointmentResponse.

Shared by the HTTP API and the webhook deliveries, whose payload is the same view.
"""

from datetime import datetime
from typing import Annotated, Any

import msgspec

from domain.durations import format_duration
from domain.model import (
    Appointment,
    InteractionState,
    ParticipantRef,
    ParticipantType,
    RoomAccess,
    Status,
)


class Schema(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    pass


# Views list every field, even empty ones, except optional values that are absent.


class RoutingView(Schema):
    properties: dict[str, str]
    type: str | None = None


class InteractionView(Schema):
    custom_fields: dict[str, str]
    state: InteractionState
    routing: RoutingView | None = None


class ParticipantRefView(Schema):
    id: str
    type: ParticipantType


class RoomAccessView(Schema):
    """AppointmentActivationResponse of the contract."""

    url: str
    type: str
    expires: datetime

    @classmethod
    def of(cls, room: RoomAccess) -> "RoomAccessView":
        return cls(url=room.url, type=room.type, expires=room.expires)


class AppointmentView(Schema):
    """GetAppointmentResponse of the contract, plus `status` and `version`."""

    id: str
    application_id: str
    start: datetime
    end: datetime
    duration: Annotated[str, msgspec.Meta(description="ISO 8601 duration", examples=["PT30M"])]
    timezone: str
    organizer: ParticipantRefView
    participant_ids: list[ParticipantRefView]
    interaction: InteractionView
    notifications_active: bool
    status: Status
    version: int
    metadata: dict[str, Any]
    locale: str | None = None
    title: str | None = None
    notes: str | None = None
    room_access: RoomAccessView | None = None


def _ref(ref: ParticipantRef) -> ParticipantRefView:
    return ParticipantRefView(id=ref.id, type=ref.type)


def appointment_view(
    appointment: Appointment, visible: frozenset[ParticipantType] = frozenset(ParticipantType)
) -> AppointmentView:
    interaction = appointment.interaction
    routing = interaction.routing
    return AppointmentView(
        id=appointment.id,
        application_id=appointment.application_id,
        start=appointment.start,
        end=appointment.end,
        duration=format_duration(appointment.duration),
        timezone=appointment.timezone,
        locale=appointment.locale,
        title=appointment.title,
        notes=appointment.notes,
        metadata=appointment.metadata,
        organizer=_ref(appointment.organizer),
        participant_ids=[_ref(p.ref) for p in appointment.participants if p.type in visible],
        interaction=InteractionView(
            routing=None
            if routing is None
            else RoutingView(type=routing.type, properties=routing.properties),
            custom_fields=interaction.custom_fields,
            state=interaction.state,
        ),
        notifications_active=appointment.notifications_active,
        room_access=None if appointment.room_access is None else RoomAccessView.of(appointment.room_access),
        status=appointment.status,
        version=appointment.version,
    )

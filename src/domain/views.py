"""Every answer of the API, named as the contract names it (`GetAppointmentResponse`, ...).

Shared by the HTTP API and the webhook deliveries, whose payload is the appointment's view. Views
list every field, even empty ones, except optional values that are absent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec

from domain.access import Principal, visible_participant_types
from domain.durations import format_duration
from domain.fields import Duration
from domain.model import (
    Appointment,
    Contact,
    InteractionState,
    Name,
    Participant,
    ParticipantRef,
    ParticipantType,
    RoomAccess,
    Status,
)
from domain.notifications import ApplicationSettings, Channel, NotificationType, Template
from domain.webhooks import Webhook


class Schema(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    pass


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


class AppointmentActivationResponse(Schema):
    """The room of an activated appointment."""

    url: str
    type: str
    expires: datetime

    @classmethod
    def of(cls, room: RoomAccess) -> AppointmentActivationResponse:
        return cls(url=room.url, type=room.type, expires=room.expires)


class GetAppointmentResponse(Schema):
    """The appointment, plus `status` and `version` (beyond the contract)."""

    id: str
    application_id: str
    start: datetime
    end: datetime
    duration: Duration
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
    room_access: AppointmentActivationResponse | None = None


def _ref(ref: ParticipantRef) -> ParticipantRefView:
    return ParticipantRefView(id=ref.id, type=ref.type)


def appointment_view(
    appointment: Appointment, visible: frozenset[ParticipantType] = frozenset(ParticipantType)
) -> GetAppointmentResponse:
    interaction = appointment.interaction
    routing = interaction.routing
    return GetAppointmentResponse(
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
        room_access=None
        if appointment.room_access is None
        else AppointmentActivationResponse.of(appointment.room_access),
        status=appointment.status,
        version=appointment.version,
    )


def present(appointment: Appointment, principal: Principal) -> GetAppointmentResponse:
    """The appointment as `principal` may see it."""
    return appointment_view(appointment, visible_participant_types(principal))


class GetParticipantDetailsResponse(Schema):
    id: str
    type: ParticipantType
    metadata: dict[str, Any]
    name: Name | None = None
    contact: Contact | None = None
    username: str | None = None

    @classmethod
    def of(cls, participant: Participant) -> GetParticipantDetailsResponse:
        return cls(
            id=participant.id,
            type=participant.type,
            metadata=participant.metadata,
            name=participant.name,
            contact=participant.contact,
            username=participant.username,
        )


class FindAppointmentsResponsePaged(Schema):
    content: list[GetAppointmentResponse]
    page_count: int
    page_number: int
    page_size: int
    sort_field: str
    sort_order: Literal["asc", "desc"]
    total: int


class AppointmentCountResponse(Schema):
    """Appointments scheduled in one slot: a start, a duration and a time zone."""

    count: int
    duration: Duration
    start: datetime
    end: datetime
    timezone: str


class AppointmentOverlapResponse(Schema):
    count: int


class TemplateResponse(Schema):
    type: NotificationType
    channel: Channel
    subject: str
    text_body: str
    locale: str | None = None
    html_body: str | None = None
    period: Duration | None = None

    @classmethod
    def of(cls, template: Template) -> TemplateResponse:
        return cls(
            type=template.type,
            channel=template.channel,
            locale=template.locale,
            subject=template.subject,
            text_body=template.text_body,
            html_body=template.html_body,
            period=None if template.period is None else format_duration(template.period),
        )


class ApplicationSettingsResponse(Schema):
    application_id: str
    auto_activate: bool
    notifications_active: bool
    customer_self_scheduling: bool
    templates: list[TemplateResponse]
    # True once an admin confirmed the code mailed by /api/notifications/emails/verify.
    email_verified: bool
    room_base_url: str | None = None
    mail_from: str | None = None
    mail_from_name: str | None = None
    verified_email: str | None = None

    @classmethod
    def of(
        cls,
        application_id: str,
        settings: ApplicationSettings,
        email_verified: bool,
        verified_email: str | None,
    ) -> ApplicationSettingsResponse:
        return cls(
            application_id=application_id,
            auto_activate=settings.auto_activate,
            notifications_active=settings.notifications_active,
            customer_self_scheduling=settings.customer_self_scheduling,
            room_base_url=settings.room_base_url,
            mail_from=settings.mail_from,
            mail_from_name=settings.mail_from_name,
            templates=[TemplateResponse.of(t) for t in settings.templates],
            email_verified=email_verified,
            verified_email=verified_email,
        )


# What a header's value reads as in every answer: values are often credentials of the receiver.
REDACTED = "********"


class WebhookResponse(Schema):
    """A subscription as the API shows it: never with its secret."""

    id: str
    url: str
    events: list[str]
    headers: Annotated[
        dict[str, str],
        msgspec.Meta(description="The names of the extra headers; their values are never shown"),
    ]
    enabled: bool
    created_at: datetime
    disabled_reason: str | None = None

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookResponse:
        return cls(
            id=webhook.id,
            url=webhook.url,
            events=list(webhook.events),
            headers=dict.fromkeys(webhook.headers, REDACTED),
            enabled=webhook.enabled,
            disabled_reason=webhook.disabled_reason,
            created_at=webhook.created_at,
        )

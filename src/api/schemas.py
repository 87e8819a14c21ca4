"""Request and response bodies of the appointments API, named as in the contract.

Durations, timestamps, time zones and locales arrive as strings and are parsed by the
domain's value parsers, so that a bad value is a 400 naming its field (and the contract's
own quoted examples, such as `"\\"PT5M\\""`, are accepted).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from typing import Annotated, Any
from urllib.parse import urlsplit

import msgspec
from msgspec import UNSET, UnsetType

from domain import rendering, values
from domain.access import Principal, visible_participant_types
from domain.durations import format_duration, unquote
from domain.email_address import parse_address
from domain.errors import DomainError, forbidden, invalid, too_large
from domain.lifecycle import CustomerDetails, NewAppointment, Reschedule, UpdateDetails
from domain.limits import MAX_SETTINGS_BYTES, MAX_TEMPLATE_PERIOD, check_map, encoded_size
from domain.model import (
    Appointment,
    Contact,
    Interaction,
    Name,
    Participant,
    ParticipantType,
    Routing,
)
from domain.notifications import ApplicationSettings, Channel, NotificationType, Template
from domain.text import is_multi_line, is_one_line
from domain.views import (
    AppointmentView,
    appointment_view,
)

# Bounds on free text keep one request from bloating every later read of the appointment.
Text = Annotated[str, msgspec.Meta(max_length=2000)]
ShortText = Annotated[str, msgspec.Meta(max_length=200)]
Id = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
# An email field: one plain address (domain.email_address), checked when it is turned into the domain's.
Email = Annotated[str, msgspec.Meta(max_length=254, examples=["ada@example.com"])]

# Only these fields may span lines (domain.text); every other string (titles, names, ids,
# addresses, locales, time zones, URLs, headers, and the keys of every map) is one line: it may
# reach an email header, a calendar property or a log line.
MULTILINE_FIELDS = frozenset({"notes", "textBody", "htmlBody"})
# Maps of the client's own data: one-line keys, string values (at any depth) that may span lines,
# and bounded in entries and size (domain.limits).
FREE_FORM_MAPS = frozenset({"metadata", "customFields", "properties"})


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _check_text(value: object, path: str, multiline: bool) -> None:
    """Raise a 400 naming the first string, or map key, under `value` that breaks the text rule,
    and a 413 for the first free-form map beyond its bounds."""
    if isinstance(value, str):
        if not (is_multi_line(value) if multiline else is_one_line(value)):
            kind = "control characters" if multiline else "control characters and line breaks"
            raise invalid(path, f"{path}: {kind} are not allowed")
    elif isinstance(value, msgspec.Struct):
        for name, attribute in _field_names(type(value)):
            child = getattr(value, attribute)
            if name in FREE_FORM_MAPS and isinstance(child, dict):
                check_map(_join(path, name), child)
                _check_text(child, _join(path, name), multiline=True)
            else:
                _check_text(child, _join(path, name), multiline=name in MULTILINE_FIELDS)
    elif isinstance(value, dict):
        for key, child in value.items():
            if isinstance(key, str) and not is_one_line(key):
                raise invalid(path, f"{path}: the key {key[:40]!r} has control characters or line breaks")
            _check_text(child, _join(path, str(key)), multiline)
    elif isinstance(value, list | tuple):
        for index, child in enumerate(value):
            _check_text(child, f"{path}[{index}]", multiline)


@cache
def _field_names(struct: type[msgspec.Struct]) -> tuple[tuple[str, str], ...]:
    """(JSON name, attribute) of each field: `msgspec.structs.fields` resolves the type hints
    on every call, which cost a tenth of the API's time on the write path."""
    return tuple((f.encode_name, f.name) for f in msgspec.structs.fields(struct))


class Schema(msgspec.Struct, kw_only=True, rename="camel", omit_defaults=True):
    pass


class RequestBody(Schema):
    """A whole request body: checked for control characters once decoded (see `MULTILINE_FIELDS`)."""

    def __post_init__(self) -> None:
        _check_text(self, "", multiline=False)


class NameBody(Schema):
    first_name: ShortText | None = None
    last_name: ShortText | None = None


class ContactBody(Schema):
    primary_email: Email | None = None
    primary_phone: ShortText | None = None


class CustomerBody(Schema):
    name: NameBody | None = None
    contact: ContactBody | None = None
    metadata: dict[str, Any] = {}
    username: ShortText | None = None

    def to_domain(self) -> CustomerDetails:
        return CustomerDetails(
            name=None
            if self.name is None
            else Name(first_name=self.name.first_name, last_name=self.name.last_name),
            contact=None
            if self.contact is None
            else Contact(
                primary_email=None
                if self.contact.primary_email is None
                else parse_address("customer.contact.primaryEmail", self.contact.primary_email),
                primary_phone=self.contact.primary_phone,
            ),
            metadata=self.metadata,
            username=self.username,
        )


class RoutingBody(Schema):
    type: ShortText | None = None
    properties: dict[str, str] = {}


class InteractionBody(Schema):
    routing: RoutingBody | None = None
    custom_fields: dict[str, str] = {}


class ScheduleAppointmentRequest(RequestBody):
    start: Annotated[str, msgspec.Meta(description="UTC start, ISO 8601", examples=["2030-01-31T19:00:00Z"])]
    duration: Annotated[str, msgspec.Meta(description="ISO 8601 duration", examples=["PT30M"])]
    timezone: Annotated[str, msgspec.Meta(description="IANA time zone", examples=["Europe/Berlin"])]
    application_id: Id | None = None
    locale: ShortText | None = None
    title: Text | None = None
    notes: Text | None = None
    metadata: dict[str, Any] = {}
    customer: CustomerBody | None = None
    interaction: InteractionBody | None = None

    def to_domain(self, principal: Principal) -> NewAppointment:
        if self.application_id is not None and self.application_id != principal.application_id:
            raise forbidden("applicationId differs from the application of the token")
        interaction = Interaction()
        if self.interaction is not None:
            routing = self.interaction.routing
            interaction = Interaction(
                routing=None
                if routing is None
                else Routing(type=routing.type, properties=routing.properties),
                custom_fields=self.interaction.custom_fields,
            )
        return NewAppointment(
            application_id=principal.application_id,
            start=values.parse_timestamp("start", self.start),
            duration=values.parse_duration_field("duration", self.duration),
            timezone=values.parse_timezone("timezone", self.timezone),
            locale=None if self.locale is None else values.parse_locale("locale", self.locale),
            title=self.title,
            notes=self.notes,
            metadata=self.metadata,
            customer=None if self.customer is None else self.customer.to_domain(),
            interaction=interaction,
        )


class UpdateAppointmentRequest(RequestBody):
    """Absent fields stay as they are; empty ones (`""`, `{}`, `null`) are cleared."""

    id: Id
    title: Text | UnsetType | None = UNSET
    notes: Text | UnsetType | None = UNSET
    metadata: dict[str, Any] | UnsetType | None = UNSET

    def to_domain(self, principal: Principal) -> UpdateDetails:
        return UpdateDetails(actor=principal, title=self.title, notes=self.notes, metadata=self.metadata)


class RescheduleAppointmentRequest(RequestBody):
    id: Id
    start: str
    duration: str
    timezone: str
    locale: ShortText | UnsetType | None = UNSET

    def to_domain(self, principal: Principal) -> Reschedule:
        locale: str | UnsetType | None = self.locale
        if isinstance(locale, str):
            locale = values.parse_locale("locale", locale)
        return Reschedule(
            actor=principal,
            start=values.parse_timestamp("start", self.start),
            duration=values.parse_duration_field("duration", self.duration),
            timezone=values.parse_timezone("timezone", self.timezone),
            locale=locale,
        )


# -- responses -----------------------------------------------------------------------------


def present(appointment: Appointment, principal: Principal) -> AppointmentView:
    return appointment_view(appointment, visible_participant_types(principal))


# -- participants ----------------------------------------------------------------------------


class AddParticipantAgentRequest(RequestBody):
    """Also the body of a reassignment."""

    id: Id
    user_id: Id


class AddParticipantCustomerRequest(RequestBody):
    id: Id
    customer: CustomerBody


class ParticipantView(Schema):
    """GetParticipantDetailsResponse of the contract."""

    id: str
    type: ParticipantType
    metadata: dict[str, Any]
    name: Name | None = None
    contact: Contact | None = None
    username: str | None = None

    @classmethod
    def of(cls, participant: Participant) -> ParticipantView:
        return cls(
            id=participant.id,
            type=participant.type,
            metadata=participant.metadata,
            name=participant.name,
            contact=participant.contact,
            username=participant.username,
        )


# -- queries ---------------------------------------------------------------------------------


class AppointmentsPage(Schema):
    """FindAppointmentsResponsePaged of the contract."""

    content: list[AppointmentView]
    page_count: int
    page_number: int
    page_size: int
    sort_field: str
    sort_order: str
    total: int


class AppointmentCountView(Schema):
    count: int
    duration: str
    start: datetime
    end: datetime
    timezone: str


class AppointmentOverlapView(Schema):
    count: int


# -- customer self-scheduling ----------------------------------------------------------------


class OtpRequest(RequestBody):
    application_id: Id
    email: Email


# -- application settings and email notifications --------------------------------------------

Subject = Annotated[str, msgspec.Meta(max_length=500)]
Body = Annotated[str, msgspec.Meta(max_length=100_000)]
MAX_TEMPLATES = 50


def unquote_text(raw: str) -> str:
    """Free text as the contract's examples send it: `"\\"Dear {{firstName}},\\\\n...\\""`.

    A value that is itself a JSON string literal is decoded (its `\\n` become line breaks);
    any other value is taken as it is.
    """
    stripped = raw.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        try:
            return msgspec.json.decode(stripped, type=str)
        except msgspec.DecodeError:
            return stripped[1:-1]
    return raw


def parse_period(field: str, raw: str) -> timedelta:
    return values.parse_duration_field(field, raw, maximum=MAX_TEMPLATE_PERIOD)


def parse_room_base_url(field: str, raw: str) -> str:
    url = unquote(raw).rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or any(c.isspace() for c in url):
        raise invalid(field, f"{field}: {raw!r} is not an http(s) URL such as https://video.example.com")
    if parts.query or parts.fragment:
        raise invalid(field, f"{field}: {raw!r} must not have a query or a fragment")
    return url


class TemplateBody(Schema):
    type: NotificationType
    subject: Subject
    text_body: Body
    channel: Channel = Channel.EMAIL
    locale: ShortText | None = None
    html_body: Body | None = None
    period: Annotated[
        str | None,
        msgspec.Meta(description="ISO 8601 duration: REMINDER before the start, FOLLOW_UP after the end"),
    ] = None

    def to_domain(self, index: int) -> Template:
        prefix = f"templates[{index}]"
        template = Template(
            type=self.type,
            channel=self.channel,
            locale=None if self.locale is None else values.parse_locale(f"{prefix}.locale", self.locale),
            subject=self.subject,
            text_body=self.text_body,
            html_body=self.html_body,
            period=None if self.period is None else parse_period(f"{prefix}.period", self.period),
        )
        rendering.validate_template(template, index)
        return template


class ApplicationSettingsRequest(RequestBody):
    auto_activate: bool = False
    notifications_active: bool = False
    customer_self_scheduling: Annotated[
        bool,
        msgspec.Meta(description="Customers may ask for one-time passwords and schedule themselves (/basic)"),
    ] = False
    room_base_url: ShortText | None = None
    mail_from: Annotated[
        Email | None,
        msgspec.Meta(
            description="Sender of the application's email: its verified address, or one of its domain"
        ),
    ] = None
    mail_from_name: Annotated[
        ShortText | None, msgspec.Meta(description="Display name of the sender", examples=["Acme Support"])
    ] = None
    templates: Annotated[list[TemplateBody], msgspec.Meta(max_length=MAX_TEMPLATES)] = []

    def to_domain(self) -> ApplicationSettings:
        settings = ApplicationSettings(
            auto_activate=self.auto_activate,
            notifications_active=self.notifications_active,
            customer_self_scheduling=self.customer_self_scheduling,
            room_base_url=None
            if self.room_base_url is None
            else parse_room_base_url("roomBaseUrl", self.room_base_url),
            mail_from=None if self.mail_from is None else parse_address("mailFrom", unquote(self.mail_from)),
            mail_from_name=self.mail_from_name or None,
            templates=tuple(t.to_domain(i) for i, t in enumerate(self.templates)),
        )
        if encoded_size(settings) > MAX_SETTINGS_BYTES:
            # Every new appointment takes a copy of the settings into its workflow.
            limit = MAX_SETTINGS_BYTES // 1024
            raise too_large("templates", f"templates: the settings would be larger than {limit} KiB")
        return settings


class TemplateView(Schema):
    type: NotificationType
    channel: Channel
    subject: str
    text_body: str
    locale: str | None = None
    html_body: str | None = None
    period: str | None = None

    @classmethod
    def of(cls, template: Template) -> TemplateView:
        return cls(
            type=template.type,
            channel=template.channel,
            locale=template.locale,
            subject=template.subject,
            text_body=template.text_body,
            html_body=template.html_body,
            period=None if template.period is None else format_duration(template.period),
        )


class ApplicationSettingsView(Schema):
    application_id: str
    auto_activate: bool
    notifications_active: bool
    customer_self_scheduling: bool
    templates: list[TemplateView]
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
    ) -> ApplicationSettingsView:
        return cls(
            application_id=application_id,
            auto_activate=settings.auto_activate,
            notifications_active=settings.notifications_active,
            customer_self_scheduling=settings.customer_self_scheduling,
            room_base_url=settings.room_base_url,
            mail_from=settings.mail_from,
            mail_from_name=settings.mail_from_name,
            templates=[TemplateView.of(t) for t in settings.templates],
            email_verified=email_verified,
            verified_email=verified_email,
        )


class ServiceVerificationRequest(RequestBody):
    """Starts the email service verification: a code is mailed to `toEmail`."""

    to_email: Email
    application_id: Id | None = None


class ServiceConfirmationRequest(RequestBody):
    """ServiceConfirmationRequest of the contract."""

    code: Annotated[str, msgspec.Meta(max_length=20, examples=["063780"])]
    application_id: Id | None = None


class EmailNotificationRequest(RequestBody):
    """EmailNotificationRequest of the contract: a template rendered with sample data."""

    to_email: Email
    subject: Subject
    text_body: Body
    type: NotificationType = NotificationType.CREATE
    channel: Channel = Channel.EMAIL
    html_body: Body | None = None
    locale: ShortText | None = None
    period: ShortText | None = None
    timezone: ShortText = "UTC"
    application_id: Id | None = None

    def to_template(self) -> Template:
        """The template, with errors naming this body's fields (`textBody`, not `templates[0]...`)."""
        template = Template(
            type=self.type,
            channel=self.channel,
            locale=None if self.locale is None else values.parse_locale("locale", self.locale),
            subject=unquote_text(self.subject).strip(),
            text_body=unquote_text(self.text_body),
            html_body=None if self.html_body is None else unquote_text(self.html_body),
            period=None if self.period is None else parse_period("period", self.period),
        )
        try:
            rendering.validate_template(template, 0)
        except DomainError as exc:
            raise _unprefixed(exc, "templates[0].") from None
        return template


def _unprefixed(exc: DomainError, prefix: str) -> DomainError:
    field = exc.field[len(prefix) :] if exc.field and exc.field.startswith(prefix) else exc.field
    return DomainError(exc.kind, exc.message.replace(prefix, ""), field)


# -- webhooks --------------------------------------------------------------------------------


class CreateWebhookRequest(RequestBody):
    """A subscription: `events` are event type names or `*`; `secret` signs every delivery; the
    values of `headers` are written, never read back."""

    url: Annotated[str, msgspec.Meta(examples=["https://crm.example.com/hooks/appointments"])]
    events: Annotated[list[str], msgspec.Meta(examples=[["APPOINTMENT_CREATED", "APPOINTMENT_CANCELLED"]])]
    secret: Annotated[str, msgspec.Meta(description="16 to 256 characters; never returned")]
    headers: Annotated[
        dict[str, str], msgspec.Meta(description="Extra headers sent with every delivery (at most 20)")
    ] = {}


class WebhookView(Schema):
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

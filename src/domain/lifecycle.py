"""How an appointment changes: each accepted change is a pure function of the old state.

The workflow's update validators call these functions to refuse a change before it enters
history, and its handlers call them again to apply it, so that validation and application
can never disagree.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from domain.access import Principal, check_access
from domain.email_address import parse_address
from domain.errors import DomainError, ErrorKind, conflict, invalid, too_large
from domain.fields import ShortText
from domain.limits import MAX_APPOINTMENT_BYTES, MAX_PARTICIPANTS, SCHEDULING_HORIZON, encoded_size
from domain.model import (
    Appointment,
    Base,
    Contact,
    Interaction,
    InteractionState,
    Name,
    Participant,
    ParticipantType,
    RoomAccess,
    Status,
    WorkflowPolicy,
)


class CustomerDetails(Base):
    name: Name | None = None
    contact: Contact | None = None
    metadata: dict[str, Any] = {}
    username: ShortText | None = None

    def checked(self, field: str) -> CustomerDetails:
        """These details with the email address in its plain form; a 400 naming the field if it is not one."""
        contact = self.contact
        if contact is None or contact.primary_email is None:
            return self
        address = parse_address(f"{field}.contact.primaryEmail", contact.primary_email)
        return msgspec.structs.replace(self, contact=msgspec.structs.replace(contact, primary_email=address))


class NewAppointment(Base):
    """A validated scheduling request, before it has an id or an organizer."""

    application_id: str
    start: datetime
    duration: timedelta
    timezone: str
    locale: str | None = None
    title: str | None = None
    notes: str | None = None
    metadata: dict[str, Any] = {}
    customer: CustomerDetails | None = None
    interaction: Interaction = Interaction()


class UpdateDetails(Base):
    """UNSET leaves a field as it is; an empty value clears it (the contract's rule)."""

    actor: Principal
    title: str | None | UnsetType = UNSET
    notes: str | None | UnsetType = UNSET
    metadata: dict[str, Any] | None | UnsetType = UNSET


class Reschedule(Base):
    actor: Principal
    start: datetime
    duration: timedelta
    timezone: str
    locale: str | None | UnsetType = UNSET


class ActorCommand(Base):
    """A change that needs nothing but who asks: activate, end, delete."""

    actor: Principal


class AgentCommand(Base):
    """Add an agent, or reassign the appointment to it."""

    actor: Principal
    user_id: str


class AddCustomer(Base):
    actor: Principal
    # Chosen by the API, so that the workflow stays deterministic.
    participant_id: str
    customer: CustomerDetails


class RemoveParticipant(Base):
    actor: Principal
    participant_id: str


def _changed(appointment: Appointment, now: datetime, **changes: Any) -> Appointment:
    return msgspec.structs.replace(appointment, version=appointment.version + 1, updated_at=now, **changes)


def bounded(appointment: Appointment, field: str) -> Appointment:
    """`appointment`, unless it has grown past what an appointment may hold (a 413 on `field`).

    Judged on the whole appointment, so that no sequence of changes, each small, can make it too
    large for the events and messages that carry it.
    """
    if len(appointment.participants) > MAX_PARTICIPANTS:
        raise too_large(field, f"{field}: an appointment has at most {MAX_PARTICIPANTS} participants")
    if encoded_size(appointment) > MAX_APPOINTMENT_BYTES:
        raise too_large(
            field, f"{field}: the appointment would be larger than {MAX_APPOINTMENT_BYTES // 1024} KiB"
        )
    return appointment


def check_schedule(start: datetime, duration: timedelta, now: datetime) -> None:
    if start + duration <= now:
        raise invalid("start", "start: the appointment would already be over; choose a later start")
    if start > now + SCHEDULING_HORIZON:
        raise invalid("start", f"start: at most {SCHEDULING_HORIZON.days} days ahead")


def _largest_part(request: NewAppointment) -> str:
    """The field of a new appointment to name when it is too large: the one that weighs most."""
    parts = {
        "metadata": request.metadata,
        "customer": request.customer,
        "interaction": request.interaction,
        "notes": request.notes,
        "title": request.title,
    }
    return max(parts, key=lambda name: encoded_size(parts[name]))


def create(
    request: NewAppointment,
    *,
    appointment_id: str,
    organizer: Participant,
    customer_id: str,
    now: datetime,
) -> Appointment:
    """A new appointment: the organizer and, when given, the customer take part."""
    check_schedule(request.start, request.duration, now)
    participants = [organizer]
    if request.customer is not None:
        details = request.customer
        participants.insert(
            0,
            Participant(
                id=customer_id,
                type=ParticipantType.CUSTOMER,
                name=details.name,
                contact=details.contact,
                metadata=details.metadata,
                username=details.username,
            ),
        )
    appointment = Appointment(
        id=appointment_id,
        application_id=request.application_id,
        organizer=organizer.ref,
        participants=tuple(participants),
        start=request.start,
        duration=request.duration,
        timezone=request.timezone,
        locale=request.locale,
        title=request.title,
        notes=request.notes,
        metadata=request.metadata,
        interaction=msgspec.structs.replace(request.interaction, state=InteractionState.PENDING),
        created_at=now,
        updated_at=now,
    )
    return bounded(appointment, _largest_part(request))


def require_open(appointment: Appointment, actor: Principal) -> None:
    check_access(actor, appointment)
    if not appointment.status.is_open:
        raise conflict(f"the appointment is {appointment.status.value.lower()} and can no longer change")


def update_details(appointment: Appointment, command: UpdateDetails, now: datetime) -> Appointment:
    require_open(appointment, command.actor)
    changes: dict[str, Any] = {}
    if command.title is not UNSET:
        changes["title"] = command.title or None
    if command.notes is not UNSET:
        changes["notes"] = command.notes or None
    if command.metadata is not UNSET:
        changes["metadata"] = command.metadata or {}
    # Named after the largest of the fields this change sets.
    field = max(changes, key=lambda name: encoded_size(changes[name]), default="metadata")
    return bounded(_changed(appointment, now, **changes), field)


def add_agent(appointment: Appointment, command: AgentCommand, now: datetime) -> Appointment:
    require_open(appointment, command.actor)
    if appointment.involves_agent(command.user_id):
        raise conflict("this agent already participates in the appointment", "userId")
    agent = Participant(id=command.user_id, type=ParticipantType.AGENT)
    return bounded(_changed(appointment, now, participants=(*appointment.participants, agent)), "userId")


def add_customer(appointment: Appointment, command: AddCustomer, now: datetime) -> Appointment:
    require_open(appointment, command.actor)
    if appointment.participant(command.participant_id) is not None:
        return appointment  # the same request again (Idempotency-Key): already there
    details = command.customer
    customer = Participant(
        id=command.participant_id,
        type=ParticipantType.CUSTOMER,
        name=details.name,
        contact=details.contact,
        metadata=details.metadata,
        username=details.username,
    )
    return bounded(_changed(appointment, now, participants=(*appointment.participants, customer)), "customer")


def remove_participant(appointment: Appointment, command: RemoveParticipant, now: datetime) -> Appointment:
    require_open(appointment, command.actor)
    participant = appointment.participant(command.participant_id)
    if participant is None:
        raise DomainError(ErrorKind.NOT_FOUND, "participant not found", "participantId")
    if participant.ref == appointment.organizer:
        raise conflict("the organizer cannot be removed; reassign the appointment first", "participantId")
    remaining = tuple(p for p in appointment.participants if p.id != participant.id)
    return _changed(appointment, now, participants=remaining)


def reassign(appointment: Appointment, command: AgentCommand, now: datetime) -> Appointment:
    """The agent becomes organizer and the only agent; customers stay. Same organizer: no change."""
    require_open(appointment, command.actor)
    agent = Participant(id=command.user_id, type=ParticipantType.AGENT)
    if appointment.organizer == agent.ref:
        return appointment
    customers = tuple(p for p in appointment.participants if p.type is ParticipantType.CUSTOMER)
    return _changed(appointment, now, organizer=agent.ref, participants=(*customers, agent))


def end_of_interaction(appointment: Appointment, policy: WorkflowPolicy) -> datetime:
    """When the room closes and the workflow ends the interaction by itself."""
    return appointment.end + policy.end_grace


def reschedule(
    appointment: Appointment, command: Reschedule, policy: WorkflowPolicy, now: datetime
) -> Appointment:
    require_open(appointment, command.actor)
    check_schedule(command.start, command.duration, now)
    moved = msgspec.structs.replace(
        appointment,
        start=command.start,
        duration=command.duration,
        timezone=command.timezone,
        locale=appointment.locale if command.locale is UNSET else command.locale,
        sequence=appointment.sequence + 1,
    )
    room = appointment.room_access
    if room is not None:
        # The room keeps its URL; only its validity follows the new schedule.
        room = msgspec.structs.replace(room, expires=end_of_interaction(moved, policy))
    return _changed(moved, now, room_access=room)


def check_activate(appointment: Appointment, actor: Principal) -> None:
    if appointment.room_access is None:
        require_open(appointment, actor)
    else:
        check_access(actor, appointment)


def activate(appointment: Appointment, room: RoomAccess, now: datetime) -> Appointment:
    return _changed(appointment, now, room_access=room, status=Status.ACTIVATED)


def end(appointment: Appointment, actor: Principal, now: datetime) -> Appointment:
    require_open(appointment, actor)
    interaction = msgspec.structs.replace(appointment.interaction, state=InteractionState.ENDED)
    return _changed(appointment, now, status=Status.ENDED, interaction=interaction)


def expire(appointment: Appointment, now: datetime) -> Appointment:
    interaction = msgspec.structs.replace(appointment.interaction, state=InteractionState.EXPIRED)
    return _changed(appointment, now, status=Status.ENDED, interaction=interaction)


def delete(appointment: Appointment, actor: Principal, now: datetime) -> Appointment:
    check_access(actor, appointment)
    # A cancellation is a new revision of the calendar event (RFC 5546), hence a new SEQUENCE.
    return _changed(appointment, now, status=Status.DELETED, sequence=appointment.sequence + 1)


def next_deadline(appointment: Appointment, policy: WorkflowPolicy) -> datetime | None:
    """The next moment the workflow must wake up by itself, or None when it is done."""
    if not appointment.status.is_open:
        return None
    return end_of_interaction(appointment, policy)

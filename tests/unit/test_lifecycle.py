"""How an appointment changes (domain.lifecycle) and who may change it (domain.access)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from msgspec import UNSET, UnsetType

from domain import lifecycle
from domain.access import Principal, Role, check_access, visible_participant_types
from domain.errors import DomainError, ErrorKind
from domain.lifecycle import ActorCommand, CustomerDetails, NewAppointment, Reschedule, UpdateDetails
from domain.model import (
    Appointment,
    Contact,
    Interaction,
    InteractionState,
    Name,
    Participant,
    ParticipantRef,
    ParticipantType,
    RoomAccess,
    Routing,
    Status,
    WorkflowPolicy,
)
from tests.support.factories import APPLICATION, new_appointment, principal

NOW = datetime(2030, 1, 31, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=7)
OTHER_APPLICATION = "0a3a4c2e-5d1e-4bb5-8f7b-6a2e1f0c9d33"
POLICY = WorkflowPolicy(end_grace=timedelta(minutes=15))


@pytest.fixture
def organizer() -> Principal:
    return principal(Role.AGENT)


@pytest.fixture
def appointment(organizer: Principal) -> Appointment:
    return new_appointment(organizer, now=NOW)


def _raises(kind: ErrorKind, action: Callable[[], object]) -> DomainError:
    with pytest.raises(DomainError) as info:
        action()
    assert info.value.kind is kind, repr(info.value)
    return info.value


def _room(expires: datetime) -> RoomAccess:
    return RoomAccess(url="https://rooms.example.test/r/abc", type="VIDEO", expires=expires)


def _customer(conference_id: str | None, *, application_id: str = APPLICATION) -> Principal:
    return Principal(
        sub=str(uuid.uuid4()),
        roles=frozenset({Role.CUSTOMER}),
        application_id=application_id,
        conference_id=conference_id,
    )


def _request(
    *,
    start: datetime,
    duration: timedelta = timedelta(minutes=30),
    customer: CustomerDetails | None = None,
    interaction: Interaction | None = None,
) -> NewAppointment:
    return NewAppointment(
        application_id=APPLICATION,
        start=start,
        duration=duration,
        timezone="Europe/Berlin",
        locale="de-DE",
        title="Consultation",
        notes="Bring the contract",
        metadata={"crm": "42"},
        customer=customer,
        interaction=interaction or Interaction(),
    )


def _create(request: NewAppointment, organizer: Principal, *, customer_id: str = "cust-1") -> Appointment:
    return lifecycle.create(
        request,
        appointment_id="appt-1",
        organizer=Participant(id=organizer.sub, type=ParticipantType.AGENT),
        customer_id=customer_id,
        now=NOW,
    )


# --- create --------------------------------------------------------------------------------


def test_create_puts_the_customer_first_and_the_organizer_as_agent(organizer: Principal) -> None:
    details = CustomerDetails(
        name=Name(first_name="Bobby", last_name="Ewing"),
        contact=Contact(primary_email="bobby@example.test"),
        metadata={"tier": "gold"},
        username="bobby",
    )
    appointment = _create(_request(start=NOW + timedelta(hours=1), customer=details), organizer)

    customer, agent = appointment.participants
    assert customer == Participant(
        id="cust-1",
        type=ParticipantType.CUSTOMER,
        name=details.name,
        contact=details.contact,
        metadata={"tier": "gold"},
        username="bobby",
    )
    assert agent == Participant(id=organizer.sub, type=ParticipantType.AGENT)
    assert appointment.organizer == ParticipantRef(id=organizer.sub, type=ParticipantType.AGENT)


def test_create_starts_scheduled_at_version_one(organizer: Principal) -> None:
    start = NOW + timedelta(hours=1)
    appointment = _create(_request(start=start, duration=timedelta(minutes=45)), organizer)

    assert appointment.id == "appt-1"
    assert appointment.application_id == APPLICATION
    assert appointment.status is Status.SCHEDULED
    assert appointment.version == 1
    assert appointment.created_at == appointment.updated_at == NOW
    assert appointment.start == start
    assert appointment.end == start + timedelta(minutes=45)
    assert (appointment.timezone, appointment.locale) == ("Europe/Berlin", "de-DE")
    assert (appointment.title, appointment.notes) == ("Consultation", "Bring the contract")
    assert appointment.metadata == {"crm": "42"}
    assert appointment.notifications_active is False  # set from the application settings when scheduled
    assert appointment.room_access is None


def test_create_without_customer_has_only_the_organizer(organizer: Principal) -> None:
    appointment = _create(_request(start=NOW + timedelta(hours=1)), organizer)

    assert [p.ref for p in appointment.participants] == [
        ParticipantRef(id=organizer.sub, type=ParticipantType.AGENT)
    ]


def test_create_always_starts_the_interaction_pending(organizer: Principal) -> None:
    routing = Routing(type="QUEUE", properties={"queue": "sales"})
    request = _request(
        start=NOW + timedelta(hours=1),
        interaction=Interaction(routing=routing, custom_fields={"a": "b"}, state=InteractionState.ENDED),
    )
    appointment = _create(request, organizer)

    assert appointment.interaction == Interaction(
        routing=routing, custom_fields={"a": "b"}, state=InteractionState.PENDING
    )


@pytest.mark.parametrize(
    ("start", "duration"),
    [
        (NOW - timedelta(hours=2), timedelta(hours=1)),  # long over
        (NOW - timedelta(minutes=30), timedelta(minutes=30)),  # ends exactly now
    ],
)
def test_create_refuses_an_appointment_already_over(
    organizer: Principal, start: datetime, duration: timedelta
) -> None:
    error = _raises(ErrorKind.INVALID, lambda: _create(_request(start=start, duration=duration), organizer))
    assert error.field == "start"
    assert "already be over" in error.message


def test_create_accepts_an_appointment_that_started_but_is_not_over(organizer: Principal) -> None:
    appointment = _create(
        _request(start=NOW - timedelta(minutes=10), duration=timedelta(minutes=30)), organizer
    )
    assert appointment.start == NOW - timedelta(minutes=10)


# --- update_details ------------------------------------------------------------------------


@pytest.fixture
def detailed(appointment: Appointment) -> Appointment:
    return msgspec.structs.replace(appointment, title="Title", notes="Notes", metadata={"k": "v"})


def test_update_details_unset_keeps_everything(detailed: Appointment, organizer: Principal) -> None:
    updated = lifecycle.update_details(detailed, UpdateDetails(actor=organizer), LATER)

    assert (updated.title, updated.notes, updated.metadata) == ("Title", "Notes", {"k": "v"})
    assert updated.version == detailed.version + 1
    assert updated.updated_at == LATER
    assert updated.created_at == detailed.created_at


def test_update_details_sets_given_fields_only(detailed: Appointment, organizer: Principal) -> None:
    updated = lifecycle.update_details(
        detailed, UpdateDetails(actor=organizer, title="New title", metadata={"x": 1}), LATER
    )

    assert updated.title == "New title"
    assert updated.notes == "Notes"
    assert updated.metadata == {"x": 1}


@pytest.mark.parametrize("empty", ["", None])
def test_update_details_empty_text_clears(
    detailed: Appointment, organizer: Principal, empty: str | None
) -> None:
    updated = lifecycle.update_details(
        detailed, UpdateDetails(actor=organizer, title=empty, notes=empty), LATER
    )

    assert updated.title is None
    assert updated.notes is None
    assert updated.metadata == {"k": "v"}


@pytest.mark.parametrize("empty", [{}, None])
def test_update_details_empty_metadata_clears(
    detailed: Appointment, organizer: Principal, empty: dict[str, str] | None
) -> None:
    updated = lifecycle.update_details(detailed, UpdateDetails(actor=organizer, metadata=empty), LATER)

    assert updated.metadata == {}
    assert updated.title == "Title"


def test_update_details_refused_once_ended(appointment: Appointment, organizer: Principal) -> None:
    ended = lifecycle.end(appointment, organizer, NOW)
    error = _raises(
        ErrorKind.CONFLICT,
        lambda: lifecycle.update_details(ended, UpdateDetails(actor=organizer, title="x"), LATER),
    )
    assert "ended" in error.message


def test_update_details_refused_for_an_uninvolved_agent(appointment: Appointment) -> None:
    _raises(
        ErrorKind.FORBIDDEN,
        lambda: lifecycle.update_details(appointment, UpdateDetails(actor=principal(Role.AGENT)), LATER),
    )


# --- reschedule ----------------------------------------------------------------------------


def _reschedule_command(
    actor: Principal,
    *,
    start: datetime = NOW + timedelta(days=2, hours=3),
    duration: timedelta = timedelta(hours=1),
    locale: str | None | UnsetType = UNSET,
) -> Reschedule:
    return Reschedule(actor=actor, start=start, duration=duration, timezone="America/New_York", locale=locale)


def test_reschedule_moves_start_duration_and_end(appointment: Appointment, organizer: Principal) -> None:
    command = _reschedule_command(organizer)
    moved = lifecycle.reschedule(appointment, command, POLICY, LATER)

    assert moved.start == command.start
    assert moved.duration == timedelta(hours=1)
    assert moved.end == command.start + timedelta(hours=1)
    assert moved.timezone == "America/New_York"
    assert moved.version == appointment.version + 1
    assert moved.updated_at == LATER
    assert moved.status is Status.SCHEDULED
    assert moved.room_access is None
    assert moved.participants == appointment.participants


def test_reschedule_locale_unset_keeps_it(appointment: Appointment, organizer: Principal) -> None:
    assert appointment.locale == "en-GB"
    moved = lifecycle.reschedule(appointment, _reschedule_command(organizer), POLICY, LATER)
    assert moved.locale == "en-GB"


@pytest.mark.parametrize("locale", ["fr-FR", None])
def test_reschedule_locale_given_replaces_it(
    appointment: Appointment, organizer: Principal, locale: str | None
) -> None:
    moved = lifecycle.reschedule(appointment, _reschedule_command(organizer, locale=locale), POLICY, LATER)
    assert moved.locale == locale


def test_reschedule_moves_room_expiry_but_keeps_its_url(
    appointment: Appointment, organizer: Principal
) -> None:
    room = _room(lifecycle.end_of_interaction(appointment, POLICY))
    active = lifecycle.activate(appointment, room, NOW)
    command = _reschedule_command(organizer)

    moved = lifecycle.reschedule(active, command, POLICY, LATER)

    assert moved.room_access is not None
    assert moved.room_access.url == room.url
    assert moved.room_access.type == room.type
    assert moved.room_access.expires == command.start + command.duration + POLICY.end_grace
    assert moved.room_access.expires != room.expires
    assert moved.status is Status.ACTIVATED


def test_reschedule_refused_once_ended(appointment: Appointment, organizer: Principal) -> None:
    ended = lifecycle.end(appointment, organizer, NOW)
    error = _raises(
        ErrorKind.CONFLICT,
        lambda: lifecycle.reschedule(ended, _reschedule_command(organizer), POLICY, LATER),
    )
    assert "ended" in error.message


def test_reschedule_refused_once_expired(appointment: Appointment, organizer: Principal) -> None:
    expired = lifecycle.expire(appointment, NOW)
    _raises(
        ErrorKind.CONFLICT,
        lambda: lifecycle.reschedule(expired, _reschedule_command(organizer), POLICY, LATER),
    )


def test_reschedule_of_a_deleted_appointment_is_not_found(
    appointment: Appointment, organizer: Principal
) -> None:
    # A deleted appointment is invisible (check_access), so the refusal is NOT_FOUND, not CONFLICT.
    deleted = lifecycle.delete(appointment, organizer, NOW)
    _raises(
        ErrorKind.NOT_FOUND,
        lambda: lifecycle.reschedule(deleted, _reschedule_command(organizer), POLICY, LATER),
    )


def test_reschedule_refused_into_the_past(appointment: Appointment, organizer: Principal) -> None:
    command = _reschedule_command(organizer, start=LATER - timedelta(hours=2), duration=timedelta(hours=1))
    error = _raises(ErrorKind.INVALID, lambda: lifecycle.reschedule(appointment, command, POLICY, LATER))
    assert error.field == "start"


def test_reschedule_refused_for_another_tenant(appointment: Appointment) -> None:
    stranger = principal(Role.SUPERVISOR, application_id=OTHER_APPLICATION)
    _raises(
        ErrorKind.NOT_FOUND,
        lambda: lifecycle.reschedule(appointment, _reschedule_command(stranger), POLICY, LATER),
    )


# --- activate ------------------------------------------------------------------------------


def test_check_activate_allows_the_organizer(appointment: Appointment, organizer: Principal) -> None:
    lifecycle.check_activate(appointment, organizer)  # does not raise


def test_check_activate_refuses_an_ended_appointment_without_room(
    appointment: Appointment, organizer: Principal
) -> None:
    ended = lifecycle.end(appointment, organizer, NOW)
    _raises(ErrorKind.CONFLICT, lambda: lifecycle.check_activate(ended, organizer))


def test_check_activate_with_a_room_only_checks_access(
    appointment: Appointment, organizer: Principal
) -> None:
    # A second activation reuses the room, even after the end: it creates nothing.
    active = lifecycle.activate(appointment, _room(NOW + timedelta(days=2)), NOW)
    ended = lifecycle.end(active, organizer, LATER)

    lifecycle.check_activate(ended, organizer)  # does not raise
    _raises(ErrorKind.FORBIDDEN, lambda: lifecycle.check_activate(ended, principal(Role.AGENT)))
    deleted = lifecycle.delete(ended, organizer, LATER)
    _raises(ErrorKind.NOT_FOUND, lambda: lifecycle.check_activate(deleted, organizer))


def test_check_activate_refuses_an_uninvolved_agent(appointment: Appointment) -> None:
    _raises(ErrorKind.FORBIDDEN, lambda: lifecycle.check_activate(appointment, principal(Role.AGENT)))


def test_activate_stores_the_room_and_activates(appointment: Appointment) -> None:
    room = _room(NOW + timedelta(days=2))
    active = lifecycle.activate(appointment, room, LATER)

    assert active.status is Status.ACTIVATED
    assert active.room_access == room
    assert active.version == appointment.version + 1
    assert active.updated_at == LATER
    assert active.interaction.state is InteractionState.PENDING


# --- end, expire, delete -------------------------------------------------------------------


@pytest.mark.parametrize("activated", [False, True])
def test_end_ends_status_and_interaction(
    appointment: Appointment, organizer: Principal, activated: bool
) -> None:
    routing = Routing(type="QUEUE", properties={"queue": "sales"})
    appointment = msgspec.structs.replace(appointment, interaction=Interaction(routing=routing))
    if activated:
        appointment = lifecycle.activate(appointment, _room(NOW + timedelta(days=2)), NOW)

    ended = lifecycle.end(appointment, organizer, LATER)

    assert ended.status is Status.ENDED
    assert ended.interaction.state is InteractionState.ENDED
    assert ended.interaction.routing == routing
    assert ended.version == appointment.version + 1
    assert ended.updated_at == LATER


def test_end_twice_is_a_conflict(appointment: Appointment, organizer: Principal) -> None:
    ended = lifecycle.end(appointment, organizer, NOW)
    _raises(ErrorKind.CONFLICT, lambda: lifecycle.end(ended, organizer, LATER))


def test_end_refused_for_an_uninvolved_agent(appointment: Appointment) -> None:
    _raises(ErrorKind.FORBIDDEN, lambda: lifecycle.end(appointment, principal(Role.AGENT), LATER))


def test_expire_ends_with_an_expired_interaction(appointment: Appointment) -> None:
    expired = lifecycle.expire(appointment, LATER)

    assert expired.status is Status.ENDED
    assert expired.interaction.state is InteractionState.EXPIRED
    assert expired.version == appointment.version + 1
    assert expired.updated_at == LATER


def test_delete_marks_deleted(appointment: Appointment, organizer: Principal) -> None:
    deleted = lifecycle.delete(appointment, organizer, LATER)

    assert deleted.status is Status.DELETED
    assert deleted.version == appointment.version + 1
    assert deleted.updated_at == LATER


def test_delete_allowed_after_the_end(appointment: Appointment, organizer: Principal) -> None:
    ended = lifecycle.end(appointment, organizer, NOW)
    assert lifecycle.delete(ended, organizer, LATER).status is Status.DELETED


def test_delete_refusals(appointment: Appointment, organizer: Principal) -> None:
    _raises(ErrorKind.FORBIDDEN, lambda: lifecycle.delete(appointment, principal(Role.AGENT), LATER))
    deleted = lifecycle.delete(appointment, organizer, LATER)
    _raises(ErrorKind.NOT_FOUND, lambda: lifecycle.delete(deleted, organizer, LATER))


def test_versions_grow_by_one_per_accepted_change(appointment: Appointment, organizer: Principal) -> None:
    changed = lifecycle.update_details(appointment, UpdateDetails(actor=organizer, title="a"), NOW)
    changed = lifecycle.reschedule(changed, _reschedule_command(organizer), POLICY, NOW)
    changed = lifecycle.activate(changed, _room(NOW + timedelta(days=3)), NOW)
    changed = lifecycle.end(changed, organizer, NOW)
    changed = lifecycle.delete(changed, organizer, NOW)
    assert changed.version == appointment.version + 5


# --- deadlines -----------------------------------------------------------------------------


def test_next_deadline_is_end_plus_grace_while_open(appointment: Appointment, organizer: Principal) -> None:
    expected = appointment.start + appointment.duration + POLICY.end_grace
    assert lifecycle.end_of_interaction(appointment, POLICY) == expected
    assert lifecycle.next_deadline(appointment, POLICY) == expected

    active = lifecycle.activate(appointment, _room(expected), NOW)
    assert lifecycle.next_deadline(active, POLICY) == expected

    moved = lifecycle.reschedule(active, _reschedule_command(organizer), POLICY, NOW)
    assert lifecycle.next_deadline(moved, POLICY) == moved.end + POLICY.end_grace
    assert lifecycle.next_deadline(moved, WorkflowPolicy()) == moved.end + timedelta(hours=1)


def test_next_deadline_is_none_once_closed(appointment: Appointment, organizer: Principal) -> None:
    assert lifecycle.next_deadline(lifecycle.end(appointment, organizer, NOW), POLICY) is None
    assert lifecycle.next_deadline(lifecycle.expire(appointment, NOW), POLICY) is None
    assert lifecycle.next_deadline(lifecycle.delete(appointment, organizer, NOW), POLICY) is None


# --- check_access --------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.AGENT])
def test_another_tenant_sees_nothing(appointment: Appointment, organizer: Principal, role: Role) -> None:
    # Even the organizer's own user id, under another application, gets NOT_FOUND, not FORBIDDEN.
    stranger = principal(role, sub=organizer.sub, application_id=OTHER_APPLICATION)
    _raises(ErrorKind.NOT_FOUND, lambda: check_access(stranger, appointment))


def test_another_tenants_customer_sees_nothing(appointment: Appointment) -> None:
    customer = _customer(appointment.id, application_id=OTHER_APPLICATION)
    _raises(ErrorKind.NOT_FOUND, lambda: check_access(customer, appointment))


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.CLIENT_SERVICE])
def test_a_deleted_appointment_is_not_found_even_for_application_wide_roles(
    appointment: Appointment, organizer: Principal, role: Role
) -> None:
    deleted = lifecycle.delete(appointment, organizer, NOW)
    _raises(ErrorKind.NOT_FOUND, lambda: check_access(organizer, deleted))
    _raises(ErrorKind.NOT_FOUND, lambda: check_access(principal(role), deleted))
    _raises(ErrorKind.NOT_FOUND, lambda: check_access(_customer(deleted.id), deleted))


@pytest.mark.parametrize("role", [Role.SUPERVISOR, Role.CLIENT_SERVICE])
def test_application_wide_roles_reach_any_appointment_of_their_application(
    appointment: Appointment, role: Role
) -> None:
    check_access(principal(role), appointment)  # does not raise
    ended = lifecycle.expire(appointment, NOW)
    check_access(principal(role), ended)  # ended appointments stay visible


def test_agent_reaches_an_appointment_it_organizes(appointment: Appointment, organizer: Principal) -> None:
    check_access(organizer, appointment)  # does not raise


def test_agent_reaches_an_appointment_where_it_is_an_agent_participant(appointment: Appointment) -> None:
    colleague = principal(Role.AGENT)
    shared = msgspec.structs.replace(
        appointment,
        participants=(*appointment.participants, Participant(id=colleague.sub, type=ParticipantType.AGENT)),
    )
    check_access(colleague, shared)  # does not raise
    _raises(ErrorKind.FORBIDDEN, lambda: check_access(colleague, appointment))


def test_agent_is_forbidden_when_not_involved(appointment: Appointment) -> None:
    error = _raises(ErrorKind.FORBIDDEN, lambda: check_access(principal(Role.AGENT), appointment))
    assert error.field is None


def test_agent_matching_only_a_customer_participant_is_forbidden(appointment: Appointment) -> None:
    customer = next(p for p in appointment.participants if p.type is ParticipantType.CUSTOMER)
    impostor = principal(Role.AGENT, sub=customer.id)
    _raises(ErrorKind.FORBIDDEN, lambda: check_access(impostor, appointment))


def test_customer_reaches_only_its_own_conference(appointment: Appointment) -> None:
    check_access(_customer(appointment.id), appointment)  # does not raise
    _raises(ErrorKind.FORBIDDEN, lambda: check_access(_customer(str(uuid.uuid4())), appointment))
    _raises(ErrorKind.FORBIDDEN, lambda: check_access(_customer(None), appointment))


def test_the_role_decides_not_the_identity(appointment: Appointment, organizer: Principal) -> None:
    # The organizer's user id with only the customer role is not the organizer.
    as_customer = principal(Role.CUSTOMER, sub=organizer.sub)
    _raises(ErrorKind.FORBIDDEN, lambda: check_access(as_customer, appointment))
    # A conference id does not help an agent who is not involved.
    agent_with_conference = msgspec.structs.replace(principal(Role.AGENT), conference_id=appointment.id)
    _raises(ErrorKind.FORBIDDEN, lambda: check_access(agent_with_conference, appointment))


# --- visible_participant_types -------------------------------------------------------------


def test_a_pure_customer_sees_only_customers(appointment: Appointment) -> None:
    assert visible_participant_types(_customer(appointment.id)) == frozenset({ParticipantType.CUSTOMER})


@pytest.mark.parametrize(
    "roles",
    [
        {Role.AGENT},
        {Role.SUPERVISOR},
        {Role.CLIENT_SERVICE},
        {Role.CUSTOMER, Role.AGENT},
    ],
)
def test_other_callers_see_every_participant_type(roles: set[Role]) -> None:
    assert visible_participant_types(principal(*roles)) == frozenset(
        {ParticipantType.AGENT, ParticipantType.CUSTOMER}
    )


def test_actor_command_survives_the_workflow_json_encoding(organizer: Principal) -> None:
    command = msgspec.json.decode(msgspec.json.encode(ActorCommand(actor=organizer)), type=ActorCommand)
    assert command.actor == organizer


def test_unset_fields_are_not_sent(organizer: Principal) -> None:
    # UNSET must stay distinguishable from an explicit null after a round trip through JSON,
    # or "keep" would turn into "clear" on the way into the workflow.
    keep = msgspec.json.decode(msgspec.json.encode(UpdateDetails(actor=organizer)), type=UpdateDetails)
    clear = msgspec.json.decode(
        msgspec.json.encode(UpdateDetails(actor=organizer, title=None)), type=UpdateDetails
    )
    assert keep.title is UNSET
    assert clear.title is None


# -- bounds -------------------------------------------------------------------------------------


def test_an_appointment_starts_within_the_horizon(organizer: Principal) -> None:
    lifecycle.check_schedule(NOW + timedelta(days=730), timedelta(minutes=5), NOW)
    with pytest.raises(DomainError) as caught:
        lifecycle.check_schedule(NOW + timedelta(days=730, seconds=1), timedelta(minutes=5), NOW)
    assert caught.value.field == "start" and caught.value.kind is ErrorKind.INVALID
    moved = Reschedule(
        actor=organizer, start=NOW + timedelta(days=731), duration=timedelta(minutes=5), timezone="UTC"
    )
    with pytest.raises(DomainError):
        lifecycle.reschedule(new_appointment(organizer, now=NOW), moved, POLICY, NOW)


def test_no_sequence_of_small_changes_grows_an_appointment_past_its_bound(organizer: Principal) -> None:
    appointment = new_appointment(organizer, now=NOW)
    metadata = {f"k{n}": "x" * 150 for n in range(50)}
    added = 0
    with pytest.raises(DomainError) as caught:
        for n in range(100):
            command = lifecycle.AddCustomer(
                actor=organizer, participant_id=f"c-{n}", customer=CustomerDetails(metadata=metadata)
            )
            appointment = lifecycle.add_customer(appointment, command, NOW)
            added += 1
    assert caught.value.kind is ErrorKind.TOO_LARGE and caught.value.field == "customer"
    assert 0 < added < 10
    assert len(msgspec.json.encode(appointment)) <= 64 * 1024
    # What the appointment holds is still a valid state that takes small changes.
    renamed = lifecycle.update_details(appointment, UpdateDetails(actor=organizer, title="ok"), LATER)
    assert renamed.title == "ok"
    with pytest.raises(DomainError) as grown:
        lifecycle.update_details(appointment, UpdateDetails(actor=organizer, metadata=metadata), LATER)
    assert grown.value.kind is ErrorKind.TOO_LARGE and grown.value.field == "metadata"


def test_an_appointment_has_at_most_twenty_participants(organizer: Principal) -> None:
    appointment = new_appointment(organizer, now=NOW)
    for n in range(20 - len(appointment.participants)):
        appointment = lifecycle.add_agent(
            appointment, lifecycle.AgentCommand(actor=organizer, user_id=f"a{n}"), NOW
        )
    with pytest.raises(DomainError) as caught:
        lifecycle.add_agent(appointment, lifecycle.AgentCommand(actor=organizer, user_id="one more"), NOW)
    assert caught.value.kind is ErrorKind.TOO_LARGE and caught.value.field == "userId"


def test_a_new_appointment_too_large_names_its_largest_part(organizer: Principal) -> None:
    huge = NewAppointment(
        application_id=APPLICATION,
        start=NOW + timedelta(days=1),
        duration=timedelta(minutes=30),
        timezone="UTC",
        notes="n" * 70_000,
    )
    with pytest.raises(DomainError) as caught:
        lifecycle.create(
            huge,
            appointment_id=str(uuid.uuid4()),
            organizer=Participant(id=organizer.sub, type=ParticipantType.AGENT),
            customer_id=str(uuid.uuid4()),
            now=NOW,
        )
    assert caught.value.kind is ErrorKind.TOO_LARGE and caught.value.field == "notes"

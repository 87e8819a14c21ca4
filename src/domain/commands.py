"""Every write to an appointment, declared once: its name, its rule, the event it announces, who
may send it and how it may be refused.

The workflow registers an Update and its validator for each (workflows.appointment), the API sends
them by name (api.workflow_gateway), and each route takes its roles and documented error statuses
from its command (each api package's routes).
Adding an operation is a rule (domain.lifecycle), a row here
and a route (docs/workflows.md, "Adding an operation").
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from domain import lifecycle
from domain.access import Role
from domain.errors import ErrorKind
from domain.lifecycle import (
    ActorCommand,
    AddCustomer,
    AgentCommand,
    RemoveParticipant,
    Reschedule,
    UpdateDetails,
)
from domain.model import Appointment, RoomAccess, WorkflowPolicy
from domain.notifications import NotificationType
from domain.webhooks import EventType

AGENT, SUPERVISOR, CLIENT_SERVICE = Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE
INVALID, FORBIDDEN, NOT_FOUND = ErrorKind.INVALID, ErrorKind.FORBIDDEN, ErrorKind.NOT_FOUND
CONFLICT, TOO_LARGE, UNPROCESSABLE = ErrorKind.CONFLICT, ErrorKind.TOO_LARGE, ErrorKind.UNPROCESSABLE
# Every change of an existing appointment may find it gone (another tenant's, deleted), not the
# caller's to change, or closed.
_EXISTING = frozenset({NOT_FOUND, FORBIDDEN, CONFLICT})


class Context(NamedTuple):
    """What a rule may read besides the appointment and the command: the workflow's clock and policy."""

    now: datetime
    policy: WorkflowPolicy


Rule = Callable[[Appointment, Any, Context], Appointment]


@dataclass(frozen=True)
class Command:
    name: str
    argument: type | None
    roles: frozenset[Role]
    refusals: frozenset[ErrorKind]
    event: EventType | None = None
    announce: NotificationType | None = None
    # The change; None for what the workflow does itself (schedule, activate: a room to open).
    rule: Rule | None = None
    # What a validator judges before the Update is accepted; by default the rule itself.
    check: Callable[[Appointment, Any, Context], object] | None = None
    result: type = Appointment

    def judge(self, appointment: Appointment, command: Any, context: Context) -> object:
        """Raise the rule's refusal, if any, without changing anything."""
        check = self.check or self.rule
        return None if check is None else check(appointment, command, context)


SCHEDULE = Command(
    "schedule",
    None,
    roles=frozenset({AGENT, CLIENT_SERVICE}),
    refusals=frozenset({INVALID, FORBIDDEN, CONFLICT, TOO_LARGE, UNPROCESSABLE}),
    event=EventType.APPOINTMENT_CREATED,
)
UPDATE_DETAILS = Command(
    "update_details",
    UpdateDetails,
    roles=frozenset({AGENT, SUPERVISOR, CLIENT_SERVICE}),
    refusals=_EXISTING | {TOO_LARGE},
    event=EventType.APPOINTMENT_UPDATED,
    rule=lambda appointment, command, context: lifecycle.update_details(appointment, command, context.now),
)
RESCHEDULE = Command(
    "reschedule",
    Reschedule,
    roles=frozenset({AGENT, SUPERVISOR, CLIENT_SERVICE}),
    refusals=_EXISTING | {INVALID},
    event=EventType.APPOINTMENT_RESCHEDULED,
    announce=NotificationType.RESCHEDULE,
    rule=lambda appointment, command, context: lifecycle.reschedule(
        appointment, command, context.policy, context.now
    ),
)
ADD_AGENT = Command(
    "add_agent",
    AgentCommand,
    roles=frozenset({AGENT, SUPERVISOR}),
    refusals=_EXISTING | {TOO_LARGE},
    event=EventType.PARTICIPANT_ADDED,
    rule=lambda appointment, command, context: lifecycle.add_agent(appointment, command, context.now),
)
ADD_CUSTOMER = Command(
    "add_customer",
    AddCustomer,
    roles=frozenset({AGENT, SUPERVISOR}),
    refusals=_EXISTING | {TOO_LARGE, UNPROCESSABLE},
    event=EventType.PARTICIPANT_ADDED,
    rule=lambda appointment, command, context: lifecycle.add_customer(appointment, command, context.now),
)
REMOVE_PARTICIPANT = Command(
    "remove_participant",
    RemoveParticipant,
    roles=frozenset({AGENT, SUPERVISOR}),
    refusals=_EXISTING,
    event=EventType.PARTICIPANT_REMOVED,
    rule=lambda appointment, command, context: lifecycle.remove_participant(
        appointment, command, context.now
    ),
)
REASSIGN = Command(
    "reassign",
    AgentCommand,
    roles=frozenset({AGENT, SUPERVISOR}),
    refusals=_EXISTING,
    event=EventType.APPOINTMENT_REASSIGNED,
    rule=lambda appointment, command, context: lifecycle.reassign(appointment, command, context.now),
)
ACTIVATE = Command(
    "activate",
    ActorCommand,
    roles=frozenset({CLIENT_SERVICE}),
    refusals=_EXISTING,
    event=EventType.APPOINTMENT_ACTIVATED,
    check=lambda appointment, command, context: lifecycle.check_activate(appointment, command.actor),
    result=RoomAccess,
)
END = Command(
    "end",
    ActorCommand,
    roles=frozenset({AGENT}),
    refusals=_EXISTING,
    event=EventType.APPOINTMENT_ENDED,
    rule=lambda appointment, command, context: lifecycle.end(appointment, command.actor, context.now),
)
DELETE = Command(
    "delete",
    ActorCommand,
    roles=frozenset({AGENT, SUPERVISOR, CLIENT_SERVICE}),
    refusals=frozenset({NOT_FOUND, FORBIDDEN}),
    event=EventType.APPOINTMENT_CANCELLED,
    announce=NotificationType.CANCELLED,
    rule=lambda appointment, command, context: lifecycle.delete(appointment, command.actor, context.now),
)

COMMANDS: tuple[Command, ...] = (
    SCHEDULE,
    UPDATE_DETAILS,
    RESCHEDULE,
    ADD_AGENT,
    ADD_CUSTOMER,
    REMOVE_PARTICIPANT,
    REASSIGN,
    ACTIVATE,
    END,
    DELETE,
)
# The changes the workflow applies the same way: judge, apply, announce, record.
CHANGES = tuple(command for command in COMMANDS if command.rule is not None)

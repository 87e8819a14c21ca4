"""Who may do what: the contract's role rules and the per-appointment access rules.

The API applies the role rules to every route; the per-appointment rules run both in the
API (for reads from the read model) and in the workflow's update validators (for writes),
so a change is judged against the workflow's own, current state.
"""

from enum import StrEnum

from domain.errors import forbidden, not_found
from domain.model import Appointment, Base, ParticipantType
from domain.values import parse_id


class Role(StrEnum):
    AGENT = "ROLE_AGENT"
    SUPERVISOR = "ROLE_SUPERVISOR"
    CLIENT_SERVICE = "ROLE_CLIENT_SERVICE"
    CUSTOMER = "ROLE_CUSTOMER"
    ADMIN = "ROLE_ADMIN"
    # Platform operators: decode every application's payloads through the codec, nothing else.
    OPERATOR = "ROLE_OPERATOR"


class Principal(Base):
    """The authenticated caller, as its token describes it."""

    sub: str
    roles: frozenset[Role]
    application_id: str
    conference_id: str | None = None

    def has_any(self, roles: frozenset[Role]) -> bool:
        return not self.roles.isdisjoint(roles)


def system_actor(application_id: str) -> Principal:
    """The workflow itself acting (autoActivate): a supervisor of the appointment's application."""
    return Principal(sub="system", roles=frozenset({Role.SUPERVISOR}), application_id=application_id)


# Roles that see and change every appointment of their application.
_APPLICATION_WIDE = frozenset({Role.SUPERVISOR, Role.CLIENT_SERVICE})


def check_access(principal: Principal, appointment: Appointment) -> None:
    """Raise unless the caller may act on this appointment.

    Another tenant's appointment is reported as absent, never as forbidden, so that ids
    of other applications cannot be probed.
    """
    if appointment.application_id != principal.application_id or not appointment.status.is_visible:
        raise not_found()
    if principal.has_any(_APPLICATION_WIDE):
        return
    if Role.AGENT in principal.roles and appointment.involves_agent(principal.sub):
        return
    if Role.CUSTOMER in principal.roles and principal.conference_id == appointment.id:
        return
    raise forbidden("this appointment is neither organized by nor shared with the caller")


# How every request spells the application it names, in its path, its query or its body.
APPLICATION_ID = "applicationId"


class NamedBy(StrEnum):
    """Where a request names the application it acts on."""

    # A resource of the application (/api/applications/{applicationId}/...): another application's
    # is reported as absent, as another tenant's appointment is.
    PATH = "path"
    # A parameter or a body field that may repeat the token's application: any other is forbidden.
    QUERY = "query"
    BODY = "body"


def check_own_application(principal: Principal, named_by: NamedBy, application_id: str | None) -> None:
    """A caller acts on its token's application only; a malformed id is a 400 naming it first."""
    if application_id is None:
        return
    if parse_id(APPLICATION_ID, application_id) == principal.application_id:
        return
    if named_by is NamedBy.PATH:
        raise not_found("application not found")
    raise forbidden("applicationId differs from the application of the token")


_CUSTOMER_ONLY = frozenset({Role.CUSTOMER})
_ALL_TYPES = frozenset(ParticipantType)
_CUSTOMER_SIDE = frozenset({ParticipantType.CUSTOMER})


def visible_participant_types(principal: Principal) -> frozenset[ParticipantType]:
    """Customers see only the customer side of an appointment."""
    return _CUSTOMER_SIDE if principal.roles == _CUSTOMER_ONLY else _ALL_TYPES

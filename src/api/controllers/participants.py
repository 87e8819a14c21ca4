"""Participants of an appointment, and its reassignment to another agent."""

from __future__ import annotations

import uuid

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK

from api.auth.guards import requires, sends
from api.idempotency import Idempotency, IdempotencyKey
from api.schemas import (
    AddParticipantAgentRequest,
    AddParticipantCustomerRequest,
    ParticipantView,
    present,
)
from api.workflow_gateway import AppointmentWorkflows
from domain import values
from domain.access import Principal, Role, check_access, visible_participant_types
from domain.commands import ADD_AGENT, ADD_CUSTOMER, REASSIGN, REMOVE_PARTICIPANT
from domain.errors import DomainError, ErrorKind, not_found
from domain.lifecycle import AddCustomer, AgentCommand, RemoveParticipant
from domain.model import Status
from domain.views import AppointmentView
from storage.appointments import AppointmentStore

AGENT, SUPERVISOR, CUSTOMER = Role.AGENT, Role.SUPERVISOR, Role.CUSTOMER
PrincipalRequest = Request[Principal, str, object]


def _participant_not_found() -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, "participant not found", "participantId")


class ParticipantController(Controller):
    path = "/api/appointments"
    tags = ["Participants"]

    @post(
        "/participants/agents",
        opt=sends(ADD_AGENT),
        status_code=HTTP_200_OK,
        summary="Add an agent as a participant",
    )
    async def add_agent(
        self,
        data: JSONBody[AddParticipantAgentRequest],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        appointment_id = values.parse_uuid("id", data.id)
        changed = await workflows.send(
            ADD_AGENT, appointment_id, AgentCommand(actor=request.user, user_id=data.user_id)
        )
        return present(changed, request.user)

    @post(
        "/participants/customers",
        opt=sends(ADD_CUSTOMER),
        status_code=HTTP_200_OK,
        summary="Add a customer as a participant",
    )
    async def add_customer(
        self,
        data: JSONBody[AddParticipantCustomerRequest],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> AppointmentView:
        appointment_id = values.parse_uuid("id", data.id)
        customer = data.customer.to_domain()
        scope = f"participant\0{appointment_id}"
        participant_id = await idempotency.resource_id(idempotency_key, scope, data) or str(uuid.uuid4())
        command = AddCustomer(actor=request.user, participant_id=participant_id, customer=customer)
        return present(await workflows.send(ADD_CUSTOMER, appointment_id, command), request.user)

    @put("/reassign", opt=sends(REASSIGN), summary="Reassign an appointment to another agent")
    async def reassign(
        self,
        data: JSONBody[AddParticipantAgentRequest],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        appointment_id = values.parse_uuid("id", data.id)
        changed = await workflows.send(
            REASSIGN, appointment_id, AgentCommand(actor=request.user, user_id=data.user_id)
        )
        return present(changed, request.user)

    @get(
        "/{appointment_id:str}/participants/{participant_id:str}",
        opt=requires(AGENT, SUPERVISOR, CUSTOMER),
        summary="Get a participant's details",
    )
    async def get_participant(
        self,
        appointment_id: FromPath[str],
        participant_id: FromPath[str],
        request: PrincipalRequest,
        store: NamedDependency[AppointmentStore],
    ) -> ParticipantView:
        principal = request.user
        appointment = await store.get(values.parse_uuid("id", appointment_id))
        if appointment is None:
            raise not_found()
        check_access(principal, appointment)
        participant = appointment.participant(values.parse_id("participantId", participant_id))
        if participant is None or participant.type not in visible_participant_types(principal):
            raise _participant_not_found()
        if principal.roles == {CUSTOMER} and appointment.status is Status.ENDED:
            # The contract: a customer's view of participants ends with the appointment.
            raise _participant_not_found()
        return ParticipantView.of(participant)

    @delete(
        "/{appointment_id:str}/participants/{participant_id:str}",
        opt=sends(REMOVE_PARTICIPANT),
        status_code=HTTP_200_OK,
        summary="Remove a participant",
    )
    async def remove_participant(
        self,
        appointment_id: FromPath[str],
        participant_id: FromPath[str],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        command = RemoveParticipant(
            actor=request.user, participant_id=values.parse_id("participantId", participant_id)
        )
        changed = await workflows.send(REMOVE_PARTICIPANT, values.parse_uuid("id", appointment_id), command)
        return present(changed, request.user)

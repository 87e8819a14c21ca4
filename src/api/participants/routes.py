"""Participants of an appointment, and its reassignment to another agent."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK

from api.auth.guards import PrincipalRequest, requires, sends
from api.idempotency import Idempotency, IdempotencyKey
from api.parameters import AppointmentId, ParticipantId
from api.participants.schemas import AddParticipantAgentRequest, AddParticipantCustomerRequest
from api.workflow_gateway import AppointmentWorkflows
from domain import values
from domain.access import Role, check_access, visible_participant_types
from domain.commands import ADD_AGENT, ADD_CUSTOMER, REASSIGN, REMOVE_PARTICIPANT
from domain.errors import DomainError, ErrorKind, not_found
from domain.lifecycle import AddCustomer, RemoveParticipant
from domain.model import Status
from domain.views import GetAppointmentResponse, GetParticipantDetailsResponse, present
from storage.appointments import AppointmentStore

AGENT, SUPERVISOR, CUSTOMER = Role.AGENT, Role.SUPERVISOR, Role.CUSTOMER


def _participant_not_found() -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, "participant not found", "pid")


class ParticipantController(Controller):
    path = "/api/appointments"
    tags = ["Appointments"]

    @post(
        "/participants/agents",
        opt=sends(ADD_AGENT),
        status_code=HTTP_200_OK,
        summary="Add an agent as a participant",
    )
    async def add_participant_agent(
        self,
        data: JSONBody[AddParticipantAgentRequest],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> GetAppointmentResponse:
        changed = await workflows.send(
            ADD_AGENT, values.parse_uuid("id", data.id), data.to_domain(request.user)
        )
        return present(changed, request.user)

    @post(
        "/participants/customers",
        opt=sends(ADD_CUSTOMER),
        status_code=HTTP_200_OK,
        summary="Add a customer as a participant",
    )
    async def add_participant_customer(
        self,
        data: JSONBody[AddParticipantCustomerRequest],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> GetAppointmentResponse:
        appointment_id = values.parse_uuid("id", data.id)
        customer = data.customer.checked("customer")
        scope = f"participant\0{appointment_id}"
        participant_id = await idempotency.resource_id(idempotency_key, scope, data) or str(uuid.uuid4())
        command = AddCustomer(actor=request.user, participant_id=participant_id, customer=customer)
        return present(await workflows.send(ADD_CUSTOMER, appointment_id, command), request.user)

    @put("/reassign", opt=sends(REASSIGN), summary="Reassign an appointment to another agent")
    async def reassign_appointment(
        self,
        data: JSONBody[AddParticipantAgentRequest],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> GetAppointmentResponse:
        changed = await workflows.send(
            REASSIGN, values.parse_uuid("id", data.id), data.to_domain(request.user)
        )
        return present(changed, request.user)

    @get(
        "/{id:str}/participants/{pid:str}",
        opt=requires(AGENT, SUPERVISOR, CUSTOMER),
        summary="Get a participant's details",
    )
    async def get_participant(
        self,
        id: AppointmentId,
        pid: ParticipantId,
        request: PrincipalRequest,
        store: NamedDependency[AppointmentStore],
    ) -> GetParticipantDetailsResponse:
        principal = request.user
        appointment = await store.get(values.parse_uuid("id", id))
        if appointment is None:
            raise not_found()
        check_access(principal, appointment)
        participant = appointment.participant(values.parse_id("pid", pid))
        if participant is None or participant.type not in visible_participant_types(principal):
            raise _participant_not_found()
        if principal.roles == {CUSTOMER} and appointment.status is Status.ENDED:
            # The contract: a customer's view of participants ends with the appointment.
            raise _participant_not_found()
        return GetParticipantDetailsResponse.of(participant)

    @delete(
        "/{id:str}/participants/{pid:str}",
        opt=sends(REMOVE_PARTICIPANT),
        status_code=HTTP_200_OK,
        summary="Remove a participant",
    )
    async def remove_participant(
        self,
        id: AppointmentId,
        pid: ParticipantId,
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> GetAppointmentResponse:
        command = RemoveParticipant(actor=request.user, participant_id=values.parse_id("pid", pid))
        changed = await workflows.send(REMOVE_PARTICIPANT, values.parse_uuid("id", id), command)
        return present(changed, request.user)

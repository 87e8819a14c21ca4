"""`/api/appointments`: thin handlers that parse, authorise, and delegate.

Writes go to the appointment's workflow as Updates; reads come from the read model.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from api.auth.guards import requires
from api.schemas import (
    AppointmentView,
    RescheduleAppointmentRequest,
    RoomAccessView,
    ScheduleAppointmentRequest,
    UpdateAppointmentRequest,
    present,
)
from api.workflow_gateway import AppointmentWorkflows
from domain import lifecycle, values
from domain.access import Principal, Role, check_access
from domain.errors import not_found
from domain.lifecycle import ActorCommand
from domain.model import Participant, ParticipantType
from storage.appointments import AppointmentStore

AGENT, SUPERVISOR, CLIENT_SERVICE, CUSTOMER = Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.CUSTOMER


class AppointmentController(Controller):
    path = "/api/appointments"
    tags = ["Appointments"]

    @post(
        "/",
        guards=[requires(AGENT, CLIENT_SERVICE)],
        status_code=HTTP_200_OK,
        summary="Schedule a new appointment",
    )
    async def schedule(
        self,
        data: JSONBody[ScheduleAppointmentRequest],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        principal = request.user
        appointment = lifecycle.create(
            data.to_domain(principal),
            appointment_id=str(uuid.uuid4()),
            organizer=Participant(id=principal.sub, type=ParticipantType.AGENT),
            customer_id=str(uuid.uuid4()),
            notifications_active=False,
            now=datetime.now(UTC),
        )
        return present(await workflows.schedule(appointment), principal)

    @put(
        "/",
        guards=[requires(AGENT, SUPERVISOR, CLIENT_SERVICE)],
        summary="Update title, notes and metadata of an appointment",
    )
    async def update(
        self,
        data: JSONBody[UpdateAppointmentRequest],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        appointment_id = values.parse_uuid("id", data.id)
        changed = await workflows.update_details(appointment_id, data.to_domain(request.user))
        return present(changed, request.user)

    @put(
        "/reschedule",
        guards=[requires(AGENT, SUPERVISOR, CLIENT_SERVICE)],
        summary="Reschedule an appointment (start, duration, time zone, locale)",
    )
    async def reschedule(
        self,
        data: JSONBody[RescheduleAppointmentRequest],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        appointment_id = values.parse_uuid("id", data.id)
        changed = await workflows.reschedule(appointment_id, data.to_domain(request.user))
        return present(changed, request.user)

    @get(
        "/{appointment_id:str}",
        guards=[requires(AGENT, SUPERVISOR, CUSTOMER, CLIENT_SERVICE)],
        summary="Get an appointment",
    )
    async def get_appointment(
        self,
        appointment_id: FromPath[str],
        request: Request[Principal, str, object],
        store: NamedDependency[AppointmentStore],
    ) -> AppointmentView:
        principal = request.user
        appointment = await store.get(values.parse_uuid("id", appointment_id))
        if appointment is None:
            raise not_found()
        check_access(principal, appointment)
        return present(appointment, principal)

    @post(
        "/activate/{appointment_id:str}",
        guards=[requires(CLIENT_SERVICE)],
        status_code=HTTP_200_OK,
        summary="Activate an appointment: open its video room",
    )
    async def activate(
        self,
        appointment_id: FromPath[str],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> RoomAccessView:
        room = await workflows.activate(
            values.parse_uuid("id", appointment_id), ActorCommand(actor=request.user)
        )
        return RoomAccessView.of(room)

    @put("/{appointment_id:str}/end", guards=[requires(AGENT)], summary="End the appointment's interaction")
    async def end(
        self,
        appointment_id: FromPath[str],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        ended = await workflows.end(values.parse_uuid("id", appointment_id), ActorCommand(actor=request.user))
        return present(ended, request.user)

    @delete(
        "/{appointment_id:str}",
        guards=[requires(AGENT, SUPERVISOR, CLIENT_SERVICE)],
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete (cancel) an appointment",
    )
    async def delete_appointment(
        self,
        appointment_id: FromPath[str],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> None:
        await workflows.delete(values.parse_uuid("id", appointment_id), ActorCommand(actor=request.user))

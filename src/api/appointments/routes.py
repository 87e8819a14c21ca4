"""`/api/appointments`: scheduling an appointment and each change of it, reading one, and the list.

Writes go to the appointment's workflow as Updates; reads come from the read model.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime

import msgspec
from litestar import Controller, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from api.appointments.schemas import (
    RescheduleAppointmentRequest,
    ScheduleAppointmentRequest,
    UpdateAppointmentRequest,
)
from api.auth.guards import PrincipalRequest, own_application, requires, sends
from api.encoded_response import EncodedJson, documented_body
from api.idempotency import Idempotency, IdempotencyKey
from api.parameters import AppointmentId
from api.queries import params
from api.workflow_gateway import AppointmentWorkflows
from domain import lifecycle, values
from domain.access import NamedBy, Role, check_access
from domain.commands import ACTIVATE, DELETE, END, RESCHEDULE, SCHEDULE, UPDATE_DETAILS
from domain.errors import not_found
from domain.lifecycle import ActorCommand
from domain.model import Participant, ParticipantType
from domain.views import (
    AppointmentActivationResponse,
    FindAppointmentsResponsePaged,
    GetAppointmentResponse,
    present,
)
from storage.appointments import AppointmentStore
from storage.queries import AppointmentFilter, AppointmentQueries


class AppointmentController(Controller):
    path = "/api/appointments"
    tags = ["Appointments"]

    @get(
        "/",
        opt={
            **requires(Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE),
            **own_application(NamedBy.QUERY),
        },
        summary="List appointments, filtered, sorted and paged",
        description=(
            "Supervisors may filter by organizerId; other roles see the appointments they organize. "
            "`applicationId`, when given, must be the token's application."
        ),
    )
    async def find_appointments(
        self,
        request: PrincipalRequest,
        queries: NamedDependency[AppointmentQueries],
        application_id: params.ApplicationFilter = None,
        organizer_id: params.OrganizerIds = (),
        duration: params.Durations = (),
        range_: params.Range = (),
        page_size: params.PageSize = None,
        page_number: params.PageNumber = None,
        sort_field: params.SortFieldParameter = None,
        sort_order: params.SortOrder = None,
    ) -> FindAppointmentsResponsePaged:
        principal = request.user
        page = params.page(page_size, page_number, sort_field, sort_order)
        # Supervisors choose the organizers; everyone else sees what they organize.
        organizers = (
            tuple(values.parse_id("organizerId", o) for o in values.parse_list(organizer_id))
            if Role.SUPERVISOR in principal.roles
            else (principal.sub,)
        )
        window = values.parse_time_range("range", range_)
        found, total = await queries.page(
            AppointmentFilter(
                application_id=principal.application_id,
                organizer_ids=organizers,
                durations=tuple(
                    values.parse_duration_field("duration", d)
                    for d in values.parse_typed_list("duration", duration)
                ),
                starts_from=window[0] if window else None,
                starts_before=window[1] if window else None,
            ),
            page,
        )
        return FindAppointmentsResponsePaged(
            content=[present(a, principal) for a in found],
            page_count=math.ceil(total / page.size),
            page_number=page.number,
            page_size=page.size,
            sort_field=page.sort_field.value,
            sort_order="desc" if page.descending else "asc",
            total=total,
        )

    @post(
        "/",
        opt={**sends(SCHEDULE), **own_application(NamedBy.BODY)},
        status_code=HTTP_200_OK,
        summary="Schedule a new appointment",
        description="`applicationId`, when given, must be the token's application.",
    )
    async def schedule_appointment(
        self,
        data: JSONBody[ScheduleAppointmentRequest],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> GetAppointmentResponse:
        principal = request.user
        # Judged before the key is bound to this body: a refused request leaves the key unused.
        appointment = lifecycle.create(
            data.to_domain(principal.application_id),
            appointment_id=str(uuid.uuid4()),
            organizer=Participant(id=principal.sub, type=ParticipantType.AGENT),
            customer_id=str(uuid.uuid4()),
            now=datetime.now(UTC),
        )
        scope = f"appointment\0{principal.application_id}\0{principal.sub}"
        if claimed := await idempotency.resource_id(idempotency_key, scope, data):
            appointment = msgspec.structs.replace(appointment, id=claimed)
        return present(await workflows.schedule(appointment), principal)

    @put("/", opt=sends(UPDATE_DETAILS), summary="Update title, notes and metadata of an appointment")
    async def update_appointment(
        self,
        data: JSONBody[UpdateAppointmentRequest],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> GetAppointmentResponse:
        appointment_id = values.parse_uuid("id", data.id)
        changed = await workflows.send(UPDATE_DETAILS, appointment_id, data.to_domain(request.user))
        return present(changed, request.user)

    @put(
        "/reschedule",
        opt=sends(RESCHEDULE),
        summary="Reschedule an appointment (start, duration, time zone, locale)",
    )
    async def reschedule_appointment(
        self,
        data: JSONBody[RescheduleAppointmentRequest],
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> GetAppointmentResponse:
        appointment_id = values.parse_uuid("id", data.id)
        changed = await workflows.send(RESCHEDULE, appointment_id, data.to_domain(request.user))
        return present(changed, request.user)

    @get(
        "/{id:str}",
        opt=requires(Role.AGENT, Role.SUPERVISOR, Role.CUSTOMER, Role.CLIENT_SERVICE),
        summary="Get an appointment",
        responses=documented_body(GetAppointmentResponse, "The appointment as the caller may see it"),
    )
    async def get_appointment(self, id: AppointmentId, request: PrincipalRequest) -> EncodedJson:
        principal = request.user
        # Read from the app's state rather than injected: resolving a dependency cost this, the
        # API's hottest read, a twentieth of its time (docs/BENCHMARKS.md).
        store: AppointmentStore = request.app.state.store
        appointment = await store.get(values.parse_uuid("id", id))
        if appointment is None:
            raise not_found()
        check_access(principal, appointment)
        return EncodedJson(present(appointment, principal))

    @post(
        "/activate/{id:str}",
        opt=sends(ACTIVATE),
        status_code=HTTP_200_OK,
        summary="Activate an appointment: open its video room",
    )
    async def activate_appointment(
        self,
        id: AppointmentId,
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentActivationResponse:
        room = await workflows.send(ACTIVATE, values.parse_uuid("id", id), ActorCommand(actor=request.user))
        return AppointmentActivationResponse.of(room)

    @put("/{id:str}/end", opt=sends(END), summary="End the appointment's interaction")
    async def end_appointment(
        self,
        id: AppointmentId,
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> GetAppointmentResponse:
        ended = await workflows.send(END, values.parse_uuid("id", id), ActorCommand(actor=request.user))
        return present(ended, request.user)

    @delete(
        "/{id:str}",
        opt=sends(DELETE),
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete (cancel) an appointment",
    )
    async def delete_appointment(
        self,
        id: AppointmentId,
        request: PrincipalRequest,
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> None:
        await workflows.send(DELETE, values.parse_uuid("id", id), ActorCommand(actor=request.user))

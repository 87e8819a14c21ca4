"""`/api/appointments`: thin handlers that parse, authorise, and delegate.

Writes go to the appointment's workflow as Updates; reads come from the read model.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import Annotated

import msgspec
from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from api import query_params
from api.auth.guards import requires, sends
from api.encoded_response import EncodedJson, documented_body
from api.idempotency import Idempotency, IdempotencyKey
from api.schemas import (
    AppointmentsPage,
    RescheduleAppointmentRequest,
    ScheduleAppointmentRequest,
    UpdateAppointmentRequest,
    present,
)
from api.workflow_gateway import AppointmentWorkflows
from domain import lifecycle, values
from domain.access import Principal, Role, check_access
from domain.commands import ACTIVATE, DELETE, END, RESCHEDULE, SCHEDULE, UPDATE_DETAILS
from domain.errors import not_found
from domain.lifecycle import ActorCommand
from domain.model import Participant, ParticipantType
from domain.views import AppointmentView, RoomAccessView
from storage.appointments import AppointmentStore
from storage.queries import AppointmentFilter, AppointmentQueries

AGENT, SUPERVISOR, CLIENT_SERVICE, CUSTOMER = Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.CUSTOMER


class AppointmentController(Controller):
    path = "/api/appointments"
    tags = ["Appointments"]

    @get(
        "/",
        opt=requires(AGENT, SUPERVISOR, CLIENT_SERVICE),
        summary="List appointments, filtered, sorted and paged",
        description="Supervisors may filter by organizerId; other roles see the appointments they organize.",
    )
    async def list_appointments(
        self,
        request: Request[Principal, str, object],
        queries: NamedDependency[AppointmentQueries],
        application_id: Annotated[str | None, QueryParameter(name="applicationId")] = None,
        organizer_id: Annotated[query_params.QueryList, QueryParameter(name="organizerId")] = (),
        duration: FromQuery[query_params.QueryList] = (),
        range_: Annotated[query_params.QueryList, QueryParameter(name="range")] = (),
        page_size: Annotated[str | None, QueryParameter(name="pageSize")] = None,
        page_number: Annotated[str | None, QueryParameter(name="pageNumber")] = None,
        sort_field: Annotated[str | None, QueryParameter(name="sortField")] = None,
        sort_order: Annotated[str | None, QueryParameter(name="sortOrder")] = None,
    ) -> AppointmentsPage:
        principal = request.user
        query_params.same_application(principal, application_id)
        page = query_params.page(page_size, page_number, sort_field, sort_order)
        # Supervisors choose the organizers; everyone else sees what they organize.
        organizers = (
            tuple(query_params.items(organizer_id)) if SUPERVISOR in principal.roles else (principal.sub,)
        )
        window = query_params.time_range(range_)
        found, total = await queries.page(
            AppointmentFilter(
                application_id=principal.application_id,
                organizer_ids=organizers,
                durations=tuple(
                    values.parse_duration_field("duration", d) for d in query_params.items(duration)
                ),
                starts_from=window[0] if window else None,
                starts_before=window[1] if window else None,
            ),
            page,
        )
        return AppointmentsPage(
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
        opt=sends(SCHEDULE),
        status_code=HTTP_200_OK,
        summary="Schedule a new appointment",
    )
    async def schedule(
        self,
        data: JSONBody[ScheduleAppointmentRequest],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
        idempotency: NamedDependency[Idempotency],
        idempotency_key: IdempotencyKey = None,
    ) -> AppointmentView:
        principal = request.user
        # Judged before the key is bound to this body: a refused request leaves the key unused.
        appointment = lifecycle.create(
            data.to_domain(principal),
            appointment_id=str(uuid.uuid4()),
            organizer=Participant(id=principal.sub, type=ParticipantType.AGENT),
            customer_id=str(uuid.uuid4()),
            now=datetime.now(UTC),
        )
        scope = f"appointment\0{principal.application_id}\0{principal.sub}"
        if claimed := await idempotency.resource_id(idempotency_key, scope, data):
            appointment = msgspec.structs.replace(appointment, id=claimed)
        return present(await workflows.schedule(appointment), principal)

    @put(
        "/",
        opt=sends(UPDATE_DETAILS),
        summary="Update title, notes and metadata of an appointment",
    )
    async def update(
        self,
        data: JSONBody[UpdateAppointmentRequest],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        appointment_id = values.parse_uuid("id", data.id)
        changed = await workflows.send(UPDATE_DETAILS, appointment_id, data.to_domain(request.user))
        return present(changed, request.user)

    @put(
        "/reschedule",
        opt=sends(RESCHEDULE),
        summary="Reschedule an appointment (start, duration, time zone, locale)",
    )
    async def reschedule(
        self,
        data: JSONBody[RescheduleAppointmentRequest],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        appointment_id = values.parse_uuid("id", data.id)
        changed = await workflows.send(RESCHEDULE, appointment_id, data.to_domain(request.user))
        return present(changed, request.user)

    @get(
        "/{appointment_id:str}",
        opt=requires(AGENT, SUPERVISOR, CUSTOMER, CLIENT_SERVICE),
        summary="Get an appointment",
        responses=documented_body(AppointmentView, "The appointment as the caller may see it"),
    )
    async def get_appointment(
        self,
        appointment_id: FromPath[str],
        request: Request[Principal, str, object],
    ) -> EncodedJson:
        principal = request.user
        # Read from the app's state rather than injected: resolving a dependency cost this, the
        # API's hottest read, a twentieth of its time (docs/BENCHMARKS.md).
        store: AppointmentStore = request.app.state.store
        appointment = await store.get(values.parse_uuid("id", appointment_id))
        if appointment is None:
            raise not_found()
        check_access(principal, appointment)
        return EncodedJson(present(appointment, principal))

    @post(
        "/activate/{appointment_id:str}",
        opt=sends(ACTIVATE),
        status_code=HTTP_200_OK,
        summary="Activate an appointment: open its video room",
    )
    async def activate(
        self,
        appointment_id: FromPath[str],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> RoomAccessView:
        room = await workflows.send(
            ACTIVATE, values.parse_uuid("id", appointment_id), ActorCommand(actor=request.user)
        )
        return RoomAccessView.of(room)

    @put("/{appointment_id:str}/end", opt=sends(END), summary="End the appointment's interaction")
    async def end(
        self,
        appointment_id: FromPath[str],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> AppointmentView:
        ended = await workflows.send(
            END, values.parse_uuid("id", appointment_id), ActorCommand(actor=request.user)
        )
        return present(ended, request.user)

    @delete(
        "/{appointment_id:str}",
        opt=sends(DELETE),
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete (cancel) an appointment",
    )
    async def delete_appointment(
        self,
        appointment_id: FromPath[str],
        request: Request[Principal, str, object],
        workflows: NamedDependency[AppointmentWorkflows],
    ) -> None:
        await workflows.send(
            DELETE, values.parse_uuid("id", appointment_id), ActorCommand(actor=request.user)
        )

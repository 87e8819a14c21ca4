"""Reads over many appointments: slot and overlap counts, eligibility.

The paged list is `GET /api/appointments` (api.appointments.routes): Litestar wants one controller
per path.
"""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, Response, get
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency

from api.auth.guards import PrincipalRequest, requires
from api.queries import params
from api.rate_limiting import PerClient
from domain import values
from domain.access import Role
from domain.durations import format_duration
from domain.limits import MAX_COUNT_TIME_FRAME, MAX_TIME_FRAME
from domain.model import Status
from domain.rate_limits import PUBLIC_READS
from domain.views import (
    AppointmentCountResponse,
    AppointmentOverlapResponse,
    GetAppointmentResponse,
    present,
)
from storage.queries import AppointmentFilter, AppointmentQueries, Page

MAX_ELIGIBLE = 1000
SUCCESSOR = '</api/appointments/>; rel="successor-version"'


class AppointmentQueryController(Controller):
    path = "/api/appointments"
    tags = ["Appointments"]

    @get(
        "/count",
        exclude_from_auth=True,
        security=[],
        guards=[PerClient(PUBLIC_READS)],
        summary="Count scheduled appointments per slot in a time frame (no authentication)",
    )
    async def count_appointments(
        self,
        queries: NamedDependency[AppointmentQueries],
        application_id: params.PublicApplicationId,
        start: params.Start,
        time_frame: params.TimeFrame,
    ) -> list[AppointmentCountResponse]:
        begin = values.parse_timestamp("start", start)
        frame = values.parse_duration_field("timeFrame", time_frame, maximum=MAX_COUNT_TIME_FRAME)
        slots = await queries.count_slots(
            values.parse_id("applicationId", application_id), begin, begin + frame
        )
        return [
            AppointmentCountResponse(
                count=s.count,
                duration=format_duration(s.duration),
                start=s.start,
                end=s.end,
                timezone=s.timezone,
            )
            for s in slots
        ]

    @get(
        "/overlap/count",
        exclude_from_auth=True,
        security=[],
        guards=[PerClient(PUBLIC_READS)],
        summary="Count scheduled or activated appointments overlapping an interval (no authentication)",
    )
    async def count_overlapping_appointments(
        self,
        queries: NamedDependency[AppointmentQueries],
        application_id: params.PublicApplicationId,
        start: params.Start,
        duration: params.OverlapDuration,
    ) -> AppointmentOverlapResponse:
        begin = values.parse_timestamp("start", start)
        length = values.parse_duration_field("duration", duration, maximum=MAX_COUNT_TIME_FRAME)
        return AppointmentOverlapResponse(
            count=await queries.count_overlapping(
                values.parse_id("applicationId", application_id), begin, begin + length
            )
        )

    @get(
        "/eligible",
        opt=requires(Role.CLIENT_SERVICE),
        deprecated=True,
        summary="[Deprecated] Appointments not yet activated",
        description="Every scheduled appointment may be activated at any time; prefer the list endpoint.",
        response_headers=[
            ResponseHeader(
                name="Deprecation", value="true", description="Always `true`", documentation_only=True
            ),
            ResponseHeader(
                name="Link",
                value=SUCCESSOR,
                description="The list endpoint, its successor",
                documentation_only=True,
            ),
        ],
    )
    async def find_eligible_appointments(
        self,
        request: PrincipalRequest,
        queries: NamedDependency[AppointmentQueries],
        time_frame: params.EligibleTimeFrame = None,
    ) -> Response[list[GetAppointmentResponse]]:
        principal = request.user
        frame = None
        if time_frame is not None:
            frame = values.parse_duration_field("timeFrame", time_frame, maximum=MAX_TIME_FRAME)
        found, _ = await queries.page(
            AppointmentFilter(
                application_id=principal.application_id,
                statuses=(Status.SCHEDULED,),
                starts_before=None if frame is None else datetime.now(UTC) + frame,
            ),
            Page(number=1, size=MAX_ELIGIBLE),
        )
        return Response(
            [present(a, principal) for a in found],
            headers={"Deprecation": "true", "Link": SUCCESSOR},
        )

"""Projection of the workflow's state into the Postgres read model."""

from __future__ import annotations

from temporalio import activity

from activities.metrics import count_projection_failure
from domain.activity_names import PROJECT_APPOINTMENT
from domain.model import Appointment
from storage.appointments import AppointmentStore


class ProjectionActivities:
    def __init__(self, store: AppointmentStore) -> None:
        self._store = store

    @activity.defn(name=PROJECT_APPOINTMENT)
    async def project(self, appointment: Appointment) -> None:
        try:
            written = await self._store.project(appointment)
        except Exception:
            count_projection_failure()
            raise
        activity.logger.info(
            "projected appointment %s version %s%s",
            appointment.id,
            appointment.version,
            "" if written else " (already newer)",
        )

"""`/api/applications/{applicationId}/settings`: what an application's admin configures.

Beyond the contract, needed by it: notifications, their templates, autoActivate and the
sender address. Only an admin of that very application sees or changes them; another
application's settings are reported as absent (404), never as forbidden.
"""

from __future__ import annotations

from litestar import Controller, get, put
from litestar.di import NamedDependency
from litestar.params import JSONBody

from api.auth.guards import PrincipalRequest, own_application, requires
from domain.access import NamedBy, Role
from domain.errors import invalid
from domain.notifications import ApplicationSettings, may_send_as
from domain.settings_rules import check_settings
from domain.views import ApplicationSettingsResponse
from storage.applications import ApplicationStore


class ApplicationSettingsController(Controller):
    path = "/api/applications/{applicationId:str}/settings"
    tags = ["Applications"]
    opt = {**requires(Role.ADMIN), **own_application(NamedBy.PATH)}

    @get("/", summary="Get an application's settings")
    async def get_application_settings(
        self,
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
    ) -> ApplicationSettingsResponse:
        application_id = request.user.application_id
        stored = await applications.get(application_id)
        if stored is None:
            return ApplicationSettingsResponse.of(application_id, ApplicationSettings(), False, None)
        return ApplicationSettingsResponse.of(
            application_id, stored.settings, stored.email_verified, stored.verified_email
        )

    @put(
        "/",
        summary="Replace an application's settings",
        description=(
            "Notifications go out only while `notificationsActive` is on and the email service is "
            "verified (`/api/notifications/emails/verify`, then `/confirm`). Each appointment keeps "
            "the settings it was scheduled with. Changing the settings keeps the verification. "
            "`mailFrom` must be the verified address or one of its domain."
        ),
    )
    async def put_application_settings(
        self,
        data: JSONBody[ApplicationSettings],
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
    ) -> ApplicationSettingsResponse:
        application_id = request.user.application_id
        settings = check_settings(data)
        if settings.mail_from is not None:
            current = await applications.get(application_id)
            if not may_send_as(settings.mail_from, current.verified_email if current else None):
                raise invalid(
                    "mailFrom",
                    "mailFrom: verify this address, or one of its domain, first "
                    "(/api/notifications/emails/verify and /confirm)",
                )
        stored = await applications.put(application_id, settings)
        return ApplicationSettingsResponse.of(
            application_id, stored.settings, stored.email_verified, stored.verified_email
        )

"""`/api/applications/{applicationId}/settings`: what an application's admin configures.

Beyond the contract, needed by it: notifications, their templates, autoActivate and the
sender address. Only an admin of that very application sees or changes them; another
application's settings are reported as absent (404), never as forbidden.
"""

from __future__ import annotations

from litestar import Controller, Request, get, put
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth.guards import requires
from api.schemas import ApplicationSettingsRequest, ApplicationSettingsView
from domain.access import Principal, Role
from domain.errors import invalid, not_found
from domain.notifications import ApplicationSettings, may_send_as
from storage.applications import ApplicationStore

PrincipalRequest = Request[Principal, str, object]


def _own_application(principal: Principal, application_id: str) -> str:
    if application_id != principal.application_id:
        raise not_found("application not found")
    return application_id


class ApplicationSettingsController(Controller):
    path = "/api/applications/{application_id:str}/settings"
    tags = ["Applications"]

    @get("/", opt=requires(Role.ADMIN), summary="Get an application's settings")
    async def get_settings(
        self,
        application_id: FromPath[str],
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
    ) -> ApplicationSettingsView:
        application_id = _own_application(request.user, application_id)
        stored = await applications.get(application_id)
        if stored is None:
            return ApplicationSettingsView.of(application_id, ApplicationSettings(), False, None)
        return ApplicationSettingsView.of(
            application_id, stored.settings, stored.email_verified, stored.verified_email
        )

    @put(
        "/",
        opt=requires(Role.ADMIN),
        summary="Replace an application's settings",
        description=(
            "Notifications go out only while `notificationsActive` is on and the email service is "
            "verified (`/api/notifications/emails/verify`, then `/confirm`). Each appointment keeps "
            "the settings it was scheduled with. Changing the settings keeps the verification. "
            "`mailFrom` must be the verified address or one of its domain."
        ),
    )
    async def put_settings(
        self,
        application_id: FromPath[str],
        data: JSONBody[ApplicationSettingsRequest],
        request: PrincipalRequest,
        applications: NamedDependency[ApplicationStore],
    ) -> ApplicationSettingsView:
        application_id = _own_application(request.user, application_id)
        settings = data.to_domain()
        if settings.mail_from is not None:
            current = await applications.get(application_id)
            if not may_send_as(settings.mail_from, current.verified_email if current else None):
                raise invalid(
                    "mailFrom",
                    "mailFrom: verify this address, or one of its domain, first "
                    "(/api/notifications/emails/verify and /confirm)",
                )
        stored = await applications.put(application_id, settings)
        return ApplicationSettingsView.of(
            application_id, stored.settings, stored.email_verified, stored.verified_email
        )

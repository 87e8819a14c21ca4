"""`/api/applications/{applicationId}/settings`: the admin's notification settings."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.applications import verify_email

ADMIN = Role.ADMIN


def _path(application_id: str) -> str:
    return f"/api/applications/{application_id}/settings"


def _template(**overrides: Any) -> dict[str, Any]:
    template: dict[str, Any] = {
        "type": "REMINDER",
        "channel": "EMAIL",
        "locale": "en-GB",
        "subject": "Reminder: {{title}}",
        "textBody": "Dear {{firstName}}, see you on {{dd-MM-yyyy}} at {{time24}} {{zone}}.",
        "htmlBody": "<p>Dear {{firstName}}</p>",
        "period": "P1D",
    }
    template.update(overrides)
    return template


def _settings(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "autoActivate": True,
        "notificationsActive": True,
        "roomBaseUrl": "https://video.example.test/",
        "templates": [
            _template(),
            _template(period="PT1H"),
            _template(type="CREATE", period=None, subject="Booked: {{title}}"),
        ],
    }
    body.update(overrides)
    return body


async def _put(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await http.put(_path(application_id), json=body, headers=auth(ADMIN))


async def test_put_then_get_round_trips_the_settings(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    saved = await _put(http, auth, application_id, _settings())
    assert saved.status_code == 200, saved.text
    view = saved.json()
    assert view["applicationId"] == application_id
    assert view["autoActivate"] is True and view["notificationsActive"] is True
    assert view["roomBaseUrl"] == "https://video.example.test"
    assert view["emailVerified"] is False and "verifiedEmail" not in view
    assert view["customerSelfScheduling"] is False
    assert [t.get("period") for t in view["templates"]] == ["P1D", "PT1H", None]
    assert view["templates"][0] == _template()

    fetched = await http.get(_path(application_id), headers=auth(ADMIN))
    assert fetched.status_code == 200
    assert fetched.json() == view

    # A second PUT replaces the whole document.
    replaced = await _put(http, auth, application_id, {"notificationsActive": False})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["templates"] == [] and replaced.json()["autoActivate"] is False


async def test_a_template_period_is_an_iso_duration(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    """Settings decode straight into the domain's templates: a period is a plain ISO 8601 duration."""
    saved = await _put(http, auth, application_id, _settings(templates=[_template(period="PT1H30M")]))
    assert saved.status_code == 200, saved.text
    assert saved.json()["templates"][0]["period"] == "PT1H30M"
    quoted = await _put(http, auth, application_id, _settings(templates=[_template(period='"PT30M"')]))
    assert quoted.status_code == 400, quoted.text
    assert quoted.json()["field"] == "templates[0].period", quoted.text


async def test_a_never_configured_application_has_defaults(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    response = await http.get(_path(application_id) + "/", headers=auth(ADMIN))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "applicationId": application_id,
        "autoActivate": False,
        "notificationsActive": False,
        "customerSelfScheduling": False,
        "templates": [],
        "emailVerified": False,
    }


async def test_another_applications_settings_are_not_found(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    other = str(uuid.uuid4())
    assert (await http.get(_path(other), headers=auth(ADMIN))).status_code == 404
    response = await http.put(_path(other), json=_settings(), headers=auth(ADMIN))
    assert response.status_code == 404
    assert response.json()["status"] == 404


async def test_only_admins_see_or_change_settings(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    for role in (Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.CUSTOMER):
        assert (await http.get(_path(application_id), headers=auth(role))).status_code == 403
        put = await http.put(_path(application_id), json=_settings(), headers=auth(role))
        assert put.status_code == 403
    assert (await http.get(_path(application_id))).status_code == 401


async def _bad(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await _put(http, auth, application_id, body)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["status"] == 400 and error["error"] == "Bad Request"
    return error


async def test_unknown_placeholder_names_the_template_field(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    error = await _bad(http, auth, application_id, _settings(templates=[_template(textBody="Hello {{foo}}")]))
    assert error["field"] == "templates[0].textBody"
    assert "{{foo}}" in error["message"]

    error = await _bad(
        http,
        auth,
        application_id,
        _settings(templates=[_template(), _template(htmlBody="<b>{{ nope }}</b>")]),
    )
    assert error["field"] == "templates[1].htmlBody"


async def test_a_reminder_needs_a_period(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    error = await _bad(http, auth, application_id, _settings(templates=[_template(period=None)]))
    assert error["field"] == "templates[0].period"


async def test_a_bad_period_is_refused(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    for period in ("one day", "P1M", "-P1D", "P60D"):
        error = await _bad(http, auth, application_id, _settings(templates=[_template(period=period)]))
        assert error["field"] == "templates[0].period", (period, error)


async def test_only_the_email_channel_exists(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    error = await _bad(http, auth, application_id, _settings(templates=[_template(channel="SMS")]))
    assert error["field"] == "templates[0].channel"


async def test_unknown_type_room_url_and_sender_are_refused(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    error = await _bad(http, auth, application_id, _settings(templates=[_template(type="BIRTHDAY")]))
    assert error["field"] == "templates[0].type"
    for url in ("ftp://video.example.test", "video.example.test", "https://"):
        error = await _bad(http, auth, application_id, _settings(roomBaseUrl=url))
        assert error["field"] == "roomBaseUrl", url
    for sender in (
        "not an address",
        "Support <support>",
        "Support <support@example.test>",
        "a@b.test, c@d.test",
        "a@b.test\r\nBcc: x@y.test",
    ):
        error = await _bad(http, auth, application_id, _settings(mailFrom=sender))
        assert error["field"] == "mailFrom", sender

    # Nothing was stored by the refused requests.
    fetched = (await http.get(_path(application_id), headers=auth(ADMIN))).json()
    assert fetched["templates"] == []


async def test_the_sender_must_be_verified_first(
    http: httpx.AsyncClient, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    """An application sends as an address it proved to own, or one of its domain: never as another's."""
    admin = auth(ADMIN)
    before = await _bad(http, auth, application_id, _settings(mailFrom="support@example.test"))
    assert before["field"] == "mailFrom" and "verify" in before["message"]

    await verify_email(http, stack.mail, admin, application_id, f"admin-{uuid.uuid4().hex[:8]}@example.test")
    saved = await _put(
        http, auth, application_id, _settings(mailFrom="support@example.test", mailFromName="Support Team")
    )
    assert saved.status_code == 200, saved.text
    assert saved.json()["mailFrom"] == "support@example.test"
    assert saved.json()["mailFromName"] == "Support Team"
    # Another domain stays refused, however it is spelled.
    for other in ("support@example.org", "support@sub.example.test", "support@EXAMPLE.TEST.evil.test"):
        error = await _bad(http, auth, application_id, _settings(mailFrom=other))
        assert error["field"] == "mailFrom", other

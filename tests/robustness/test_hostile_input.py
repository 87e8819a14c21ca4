"""Hostile input over real HTTP: whatever a client sends gets a 4xx with the JSON error body, never a
500, a hang or a half-made appointment; and real-world text (emoji, right-to-left, combining marks)
is accepted and comes back unchanged.

The rules (src/api/request_guards.py, src/domain/fields.py, src/domain/text.py):
- bodies over 256 KiB: 413; a declared Content-Type that is not JSON: 415;
- not UTF-8, not JSON, a key repeated in one object, NaN/Infinity, numbers beyond a float's range,
  nesting deeper than 32 levels: 400;
- control characters: none at all in one-line fields (titles, names, ids, addresses, locales,
  time zones, map keys...), none but tab, line feed and carriage return in `notes`, template
  bodies and the string values of metadata, custom fields and routing properties: 400 naming
  the field;
- path and query parameters: no control characters, at most 100 values per query parameter.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from api.app import MAX_BODY_BYTES
from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.requests import schedule_body

AGENT, SUPERVISOR, ADMIN = Role.AGENT, Role.SUPERVISOR, Role.ADMIN
ERROR_KEYS = {"status", "error", "message", "field"}


def assert_error(response: httpx.Response, status: int, field: str | None = None) -> dict[str, Any]:
    """A 4xx with the service's error body `{status, error, message, field?}`."""
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) <= ERROR_KEYS and {"status", "error", "message"} <= set(body), body
    assert body["status"] == status and body["message"], body
    if field is not None:
        assert body.get("field") == field, body
        assert field.split(".", maxsplit=1)[0] in body["message"], body
    # No answer echoes a huge input back.
    assert len(response.content) < 1000, len(response.content)
    return body


async def _count(stack: Stack, application_id: str) -> int:
    async with stack.engine.connect() as conn:
        result = await conn.execute(
            text("SELECT count(*) FROM appointments WHERE application_id = :app"), {"app": application_id}
        )
        return result.scalar_one()


def _json_headers(headers: dict[str, str]) -> dict[str, str]:
    return {**headers, "Content-Type": "application/json"}


# -- size -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "role"),
    [
        ("POST", "/api/appointments", AGENT),
        ("PUT", "/api/appointments", AGENT),
        ("PUT", "/api/applications/{app}/settings", ADMIN),
        ("POST", "/api/applications/{app}/webhooks", ADMIN),
        ("POST", "/codec/decode", ADMIN),
        ("POST", "/api/appointments/basic/otp", None),
    ],
)
async def test_bodies_over_256_kib_are_413(
    http: httpx.AsyncClient,
    auth: TokenFactory,
    stack: Stack,
    application_id: str,
    method: str,
    path: str,
    role: Role | None,
) -> None:
    headers = _json_headers(auth(role) if role else {})
    padding = "a" * MAX_BODY_BYTES
    body = json.dumps({**schedule_body(), "notes": padding}).encode()
    url = path.format(app=application_id)
    assert_error(await http.request(method, url, content=body, headers=headers), 413)

    # The same without Content-Length (chunked): the limit holds while the body streams in.
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 64 * 1024):
            yield body[start : start + 64 * 1024]

    assert_error(await http.request(method, url, content=chunks(), headers=headers), 413)
    assert await _count(stack, application_id) == 0


async def test_a_body_just_under_the_limit_is_judged_on_its_content(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    body = json.dumps(schedule_body(notes="n" * (MAX_BODY_BYTES - 1000))).encode()
    assert len(body) < MAX_BODY_BYTES
    response = await http.post("/api/appointments", content=body, headers=_json_headers(auth(AGENT)))
    assert_error(response, 400, "notes")


# -- structure ------------------------------------------------------------------------------


def _with_raw_metadata(raw: str) -> str:
    body = json.dumps({key: value for key, value in schedule_body().items() if key != "metadata"})
    return body[:-1] + f', "metadata": {raw}}}'


@pytest.mark.parametrize(
    "raw_metadata",
    [
        '{"a": ' + "[" * 10_000 + "]" * 10_000 + "}",
        '{"a": ' * 10_000 + "1" + "}" * 10_000,
        '{"a": ' + "[" * 40 + "]" * 40 + "}",
        '{"a": ' * 33 + "1" + "}" * 33,
    ],
    ids=["10000-arrays", "10000-objects", "40-arrays", "33-objects"],
)
async def test_deeply_nested_json_is_400(
    http: httpx.AsyncClient, auth: TokenFactory, stack: Stack, application_id: str, raw_metadata: str
) -> None:
    headers = _json_headers(auth(AGENT))
    response = await http.post("/api/appointments", content=_with_raw_metadata(raw_metadata), headers=headers)
    assert "deeper than 32 levels" in assert_error(response, 400)["message"]
    assert await _count(stack, application_id) == 0


async def test_metadata_nested_within_the_limit_round_trips(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    nested: Any = "bottom"
    for level in range(14):  # 2 + 28 levels: within the 32 of a whole body
        nested = {f"level{level}": [nested]}
    agent = auth(AGENT)
    created = await http.post("/api/appointments", json=schedule_body(metadata=nested), headers=agent)
    assert created.status_code == 200, created.text
    read = await http.get(f"/api/appointments/{created.json()['id']}", headers=agent)
    assert read.json()["metadata"] == nested


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (json.dumps(schedule_body()).replace("Product", "Pro\xff").encode("latin-1"), "UTF-8"),
        (json.dumps(schedule_body()).replace("Product", "Pro").encode() + b"\xc0\xaf", "UTF-8"),
        (json.dumps(schedule_body(title="x")).replace('"x"', '"\\ud800"').encode(), "surrogate"),
        (json.dumps(schedule_body()).encode("utf-16"), "UTF-8"),
        (b"\xef\xbb\xbf" + json.dumps(schedule_body()).encode(), "JSON"),
        (_with_raw_metadata('{"n": NaN}').encode(), "JSON"),
        (_with_raw_metadata('{"n": Infinity}').encode(), "JSON"),
        (_with_raw_metadata('{"n": 1e400}').encode(), "out of range"),
        (_with_raw_metadata('{"n": ' + "9" * 5000 + "}").encode(), "out of range"),
        (
            _with_raw_metadata('{"n": 1}').replace('"title"', '"title":"a","title"').encode(),
            "repeats the key",
        ),
        (_with_raw_metadata('{"k": 1, "k": 2}').encode(), "repeats the key 'k'"),
        (b'{"start": "2030-01-01T10:00:00Z", "start": "2030-01-01T10:00:00Z"}', "repeats the key 'start'"),
        (b'{"title": "unterminated', "JSON"),
        (b"\x00\x00\x00", "JSON"),
    ],
    ids=[
        "latin-1-byte",
        "overlong-utf-8",
        "lone-surrogate",
        "utf-16",
        "byte-order-mark",
        "nan",
        "infinity",
        "float-overflow",
        "5000-digit-integer",
        "duplicate-title",
        "duplicate-nested-key",
        "duplicate-identical",
        "truncated",
        "nul-bytes",
    ],
)
async def test_undecodable_bodies_are_400(
    http: httpx.AsyncClient, auth: TokenFactory, stack: Stack, application_id: str, raw: bytes, reason: str
) -> None:
    response = await http.post("/api/appointments", content=raw, headers=_json_headers(auth(AGENT)))
    assert reason in assert_error(response, 400)["message"]
    assert await _count(stack, application_id) == 0


@pytest.mark.parametrize(
    "content_type",
    [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/jsonx",
    ],
)
async def test_a_body_declared_as_anything_but_json_is_415(
    http: httpx.AsyncClient, auth: TokenFactory, stack: Stack, application_id: str, content_type: str
) -> None:
    headers = {**auth(AGENT), "Content-Type": content_type}
    response = await http.post("/api/appointments", content=json.dumps(schedule_body()), headers=headers)
    assert_error(response, 415)
    assert await _count(stack, application_id) == 0


@pytest.mark.parametrize("content_type", ["application/json; charset=utf-8", "APPLICATION/JSON", None])
async def test_json_content_types_and_none_are_accepted(
    http: httpx.AsyncClient, auth: TokenFactory, content_type: str | None
) -> None:
    headers = {**auth(AGENT), **({"Content-Type": content_type} if content_type else {})}
    response = await http.post("/api/appointments", content=json.dumps(schedule_body()), headers=headers)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"title": 5}, "title"),
        ({"notes": {"a": 1}}, "notes"),
        ({"start": 1_900_000_000}, "start"),
        ({"timezone": None}, "timezone"),
        ({"locale": True}, "locale"),
        ({"metadata": ["not", "a", "map"]}, "metadata"),
        ({"customer": {"name": {"firstName": 7}}}, "customer.name.firstName"),
        ({"customer": {"username": 1.5}}, "customer.username"),
        # msgspec names a map's values `[...]`.
        ({"interaction": {"customFields": {"a": 1}}}, "interaction.customFields[...]"),
        ({"applicationId": 12}, "applicationId"),
    ],
)
async def test_numbers_and_others_where_strings_are_expected_are_400(
    http: httpx.AsyncClient,
    auth: TokenFactory,
    stack: Stack,
    application_id: str,
    override: dict[str, Any],
    field: str,
) -> None:
    body = {**schedule_body(), **override}
    response = await http.post("/api/appointments", json=body, headers=auth(AGENT))
    assert_error(response, 400, field)
    assert await _count(stack, application_id) == 0


# -- lengths ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("override", "field"),
    [
        ({"title": "t" * 2001}, "title"),
        ({"notes": "n" * 2001}, "notes"),
        ({"locale": "l" * 201}, "locale"),
        ({"applicationId": "a" * 101}, "applicationId"),
        ({"customer": {"name": {"lastName": "é" * 201}}}, "customer.name.lastName"),
        ({"customer": {"username": "u" * 201}}, "customer.username"),
        ({"customer": {"contact": {"primaryEmail": "e" * 201}}}, "customer.contact.primaryEmail"),
        ({"interaction": {"routing": {"type": "r" * 201}}}, "interaction.routing.type"),
        # Not bounded by a length, but by what they must be; the answer quotes them cut short.
        ({"start": "2030-01-01T10:00:00Z" + "0" * 200_000}, "start"),
        ({"timezone": "Europe/" + "B" * 200_000}, "timezone"),
        ({"duration": "PT" + "9" * 200_000 + "M"}, "duration"),
    ],
    ids=lambda value: value if isinstance(value, str) else next(iter(value)),
)
async def test_strings_longer_than_their_limit_are_400(
    http: httpx.AsyncClient,
    auth: TokenFactory,
    stack: Stack,
    application_id: str,
    override: dict[str, Any],
    field: str,
) -> None:
    response = await http.post("/api/appointments", json=schedule_body(**override), headers=auth(AGENT))
    assert_error(response, 400, field)
    assert await _count(stack, application_id) == 0


# -- unicode ----------------------------------------------------------------------------------

UNICODE = {
    "emoji": "Call 📞 with 👩🏽‍💻 and 🇩🇪 🏳️‍🌈",
    "rtl": "مراجعة التثبيت — בדיקת התקנה",
    "combining": "Zoë Bjo\u0308rk e\u0301\u0301 a\u0338\u0327",
    "cjk": "製品の設置レビュー 제품 설치",
    "bidi-controls": "\u202eevil\u202c \u200f\u200e \u2066iso\u2069",
    "zero-width": "a\u200bb\u200dc\ufeffd",
    "astral": "\U0001d57f\U0001d58e\U0001d599\U0001d591\U0001d58a \U0001f9ea \U000e0041",
}


@pytest.mark.parametrize("sample", list(UNICODE.values()), ids=list(UNICODE))
async def test_unicode_text_is_accepted_and_round_trips_unchanged(
    http: httpx.AsyncClient, auth: TokenFactory, sample: str
) -> None:
    short = sample[:50]
    body = schedule_body(
        title=sample,
        notes=f"{sample}\n\tsecond line\r\n",
        metadata={sample: sample, "nested": [{"k": sample}]},
        customer={
            "name": {"firstName": short, "lastName": short},
            "username": short,
            "metadata": {short: short},
        },
        interaction={
            "customFields": {short: sample},
            "routing": {"type": short, "properties": {short: short}},
        },
    )
    agent = auth(AGENT)
    created = await http.post("/api/appointments", json=body, headers=agent)
    assert created.status_code == 200, created.text
    read = (await http.get(f"/api/appointments/{created.json()['id']}", headers=agent)).json()
    assert read == created.json()
    assert read["title"] == sample and read["notes"] == body["notes"] and read["metadata"] == body["metadata"]
    assert read["interaction"]["customFields"] == {short: sample}
    customer = next(p["id"] for p in read["participantIds"] if p["type"] == "CUSTOMER")
    details = (
        await http.get(f"/api/appointments/{read['id']}/participants/{customer}", headers=agent)
    ).json()
    assert details["name"] == {"firstName": short, "lastName": short}
    assert details["username"] == short and details["metadata"] == {short: short}


# -- control characters -------------------------------------------------------------------------

CONTROL_CHARACTERS = {"nul": "\x00", "bell": "\x07", "escape": "\x1b", "delete": "\x7f", "c1-nel": "\x85"}
# What multi-line fields may hold and one-line fields refuse, Unicode's own line and paragraph
# separators included: Python's email package refuses them in a header as it refuses a line feed.
LINE_BREAKS = {
    "tab": "\t",
    "line-feed": "\n",
    "carriage-return": "\r",
    "line-separator": "\u2028",
    "paragraph-separator": "\u2029",
}


def _schedule_with(field: str, value: str) -> tuple[dict[str, Any], str]:
    """A schedule body with `value` in `field`, and the field the answer must name."""
    customer = schedule_body()["customer"]
    cases: dict[str, tuple[dict[str, Any], str]] = {
        "title": ({"title": f"a{value}b"}, "title"),
        "notes": ({"notes": f"a{value}b"}, "notes"),
        "locale": ({"locale": f"en{value}"}, "locale"),
        "timezone": ({"timezone": f"Europe/Berlin{value}"}, "timezone"),
        "applicationId": ({"applicationId": f"x{value}"}, "applicationId"),
        "firstName": (
            {"customer": {**customer, "name": {"firstName": f"Bob{value}by"}}},
            "customer.name.firstName",
        ),
        "lastName": ({"customer": {**customer, "name": {"lastName": f"{value}"}}}, "customer.name.lastName"),
        "username": ({"customer": {**customer, "username": f"u{value}"}}, "customer.username"),
        "primaryEmail": (
            {"customer": {**customer, "contact": {"primaryEmail": f"a{value}@b.c"}}},
            "customer.contact.primaryEmail",
        ),
        "primaryPhone": (
            {"customer": {**customer, "contact": {"primaryPhone": f"1{value}2"}}},
            "customer.contact.primaryPhone",
        ),
        "customer-metadata-key": (
            {"customer": {**customer, "metadata": {f"k{value}": "v"}}},
            "customer.metadata",
        ),
        "metadata-key": ({"metadata": {f"k{value}": "v"}}, "metadata"),
        "metadata-value": ({"metadata": {"k": f"v{value}"}}, "metadata.k"),
        "metadata-deep-value": ({"metadata": {"k": [{"j": f"v{value}"}]}}, "metadata.k[0].j"),
        "customField-key": (
            {"interaction": {"customFields": {f"k{value}": "v"}}},
            "interaction.customFields",
        ),
        "customField-value": (
            {"interaction": {"customFields": {"k": f"v{value}"}}},
            "interaction.customFields.k",
        ),
        "routing-type": ({"interaction": {"routing": {"type": f"T{value}"}}}, "interaction.routing.type"),
        "routing-property-value": (
            {"interaction": {"routing": {"properties": {"k": f"v{value}"}}}},
            "interaction.routing.properties.k",
        ),
    }
    override, expected = cases[field]
    return schedule_body(**override), expected


SCHEDULE_FIELDS = [
    "title",
    "notes",
    "locale",
    "timezone",
    "applicationId",
    "firstName",
    "lastName",
    "username",
    "primaryEmail",
    "primaryPhone",
    "customer-metadata-key",
    "metadata-key",
    "metadata-value",
    "metadata-deep-value",
    "customField-key",
    "customField-value",
    "routing-type",
    "routing-property-value",
]
# Free text that may span lines: tab, line feed and carriage return are allowed there.
MULTILINE = {"notes", "metadata-value", "metadata-deep-value", "customField-value", "routing-property-value"}


@pytest.mark.parametrize("character", list(CONTROL_CHARACTERS.values()), ids=list(CONTROL_CHARACTERS))
@pytest.mark.parametrize("field", SCHEDULE_FIELDS)
async def test_control_characters_in_any_string_field_are_400_naming_it(
    http: httpx.AsyncClient, auth: TokenFactory, stack: Stack, application_id: str, field: str, character: str
) -> None:
    body, expected = _schedule_with(field, character)
    response = await http.post("/api/appointments", json=body, headers=auth(AGENT))
    assert "control characters" in assert_error(response, 400, expected)["message"]
    assert await _count(stack, application_id) == 0


@pytest.mark.parametrize("character", list(LINE_BREAKS.values()), ids=list(LINE_BREAKS))
@pytest.mark.parametrize("field", SCHEDULE_FIELDS)
async def test_line_breaks_only_in_multiline_fields(
    http: httpx.AsyncClient, auth: TokenFactory, field: str, character: str
) -> None:
    body, expected = _schedule_with(field, character)
    response = await http.post("/api/appointments", json=body, headers=auth(AGENT))
    if field in MULTILINE:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 400, expected)


async def test_control_characters_in_writes_to_an_existing_appointment(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    agent = auth(AGENT)
    appointment = (await http.post("/api/appointments", json=schedule_body(), headers=agent)).json()
    appointment_id = appointment["id"]
    cases: list[tuple[str, str, dict[str, Any], str]] = [
        ("PUT", "/api/appointments", {"id": appointment_id, "title": "a\x00"}, "title"),
        ("PUT", "/api/appointments", {"id": appointment_id, "notes": "a\x1b[31m"}, "notes"),
        ("PUT", "/api/appointments", {"id": appointment_id, "metadata": {"a\x07": 1}}, "metadata"),
        ("PUT", "/api/appointments", {"id": f"{appointment_id}\x00"}, "id"),
        (
            "PUT",
            "/api/appointments/reschedule",
            {**{k: appointment[k] for k in ("id", "start", "duration")}, "timezone": "UTC\x00"},
            "timezone",
        ),
        (
            "PUT",
            "/api/appointments/reschedule",
            {**{k: appointment[k] for k in ("id", "start", "duration", "timezone")}, "locale": "en\x1b"},
            "locale",
        ),
        (
            "POST",
            "/api/appointments/participants/agents",
            {"id": appointment_id, "userId": "u\x00"},
            "userId",
        ),
        ("PUT", "/api/appointments/reassign", {"id": appointment_id, "userId": "u\n"}, "userId"),
        (
            "POST",
            "/api/appointments/participants/customers",
            {"id": appointment_id, "customer": {"name": {"firstName": "\x07"}}},
            "customer.name.firstName",
        ),
    ]
    for method, path, body, field in cases:
        response = await http.request(method, path, json=body, headers=agent)
        assert "control characters" in assert_error(response, 400, field)["message"], (path, body)
    unchanged = (await http.get(f"/api/appointments/{appointment_id}", headers=agent)).json()
    assert unchanged == appointment


async def test_control_characters_in_settings_webhooks_and_mail_bodies(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    admin = auth(ADMIN)
    template = {
        "type": "REMINDER",
        "subject": "Soon: {{title}}",
        "textBody": "Hi\n\t{{title}}",
        "period": "PT1H",
    }
    webhook = {"url": "http://127.0.0.1:9999/hooks", "events": ["*"], "secret": "s" * 20}
    cases: list[tuple[str, dict[str, Any] | None, str, dict[str, Any], str]] = [
        (
            "PUT",
            admin,
            f"/api/applications/{application_id}/settings",
            {"mailFrom": "A <a@b.c>\r\nBcc: x"},
            "mailFrom",
        ),
        (
            "PUT",
            admin,
            f"/api/applications/{application_id}/settings",
            {"roomBaseUrl": "https://v\x00"},
            "roomBaseUrl",
        ),
        (
            "PUT",
            admin,
            f"/api/applications/{application_id}/settings",
            {"templates": [{**template, "subject": "Soon\r\nBcc: x@y.z"}]},
            "templates[0].subject",
        ),
        (
            "PUT",
            admin,
            f"/api/applications/{application_id}/settings",
            {"templates": [{**template, "textBody": "a\x00"}]},
            "templates[0].textBody",
        ),
        (
            "POST",
            admin,
            f"/api/applications/{application_id}/webhooks",
            {**webhook, "headers": {"X-A": "b\r\nX-Injected: 1"}},
            "headers.X-A",
        ),
        (
            "POST",
            admin,
            f"/api/applications/{application_id}/webhooks",
            {**webhook, "headers": {"X-\x00": "b"}},
            "headers",
        ),
        (
            "POST",
            admin,
            f"/api/applications/{application_id}/webhooks",
            {**webhook, "url": "http://a\x00b/"},
            "url",
        ),
        ("POST", admin, "/api/notifications/emails/verify", {"toEmail": "a@b.c\r\nBcc: x@y.z"}, "toEmail"),
        ("POST", admin, "/api/notifications/emails/confirm", {"code": "12\x003456"}, "code"),
        (
            "POST",
            admin,
            "/api/notifications/emails/test",
            {"toEmail": "a@b.c", "subject": "s", "textBody": "\x1b[2J"},
            "textBody",
        ),
        (
            "POST",
            None,
            "/api/appointments/basic/otp",
            {"applicationId": application_id, "email": "a\x00@b.c"},
            "email",
        ),
        (
            "POST",
            None,
            "/api/appointments/basic/otp",
            {"applicationId": f"{application_id}\x00", "email": "a@b.c"},
            "applicationId",
        ),
    ]
    for method, headers, path, body, field in cases:
        response = await http.request(method, path, json=body, headers=headers or {})
        assert "control characters" in assert_error(response, 400, field)["message"], (path, body)
    settings = (await http.get(f"/api/applications/{application_id}/settings", headers=admin)).json()
    assert settings["templates"] == [] and "mailFrom" not in settings and "roomBaseUrl" not in settings
    assert (await http.get(f"/api/applications/{application_id}/webhooks", headers=admin)).json() == []


# -- pagination and query strings ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["pageSize", "pageNumber"])
@pytest.mark.parametrize(
    "value",
    [
        str(10**30),
        str(-(10**30)),
        "-1",
        "0",
        "--5",
        "1e3",
        "0x10",
        "1.5",
        "NaN",
        " ",
        "\uff11\uff12",
        "\u00b2",
        "-\u0663",
        "9" * 5000,
    ],
)
async def test_absurd_page_values_are_400_naming_the_parameter(
    http: httpx.AsyncClient, auth: TokenFactory, name: str, value: str
) -> None:
    response = await http.get("/api/appointments", params={name: value}, headers=auth(AGENT))
    # Blank too: the document types the parameter as an integer, which a blank is not.
    assert_error(response, 400, name)


@pytest.mark.parametrize("value", ["0", "-1", "--5", "\u00b2", "\uff11\uff12", "1e3", "9" * 100, "x" * 5000])
async def test_absurd_delivery_limits_are_400(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, value: str
) -> None:
    path = f"/api/applications/{application_id}/webhooks/{uuid.uuid4()}/deliveries"
    assert_error(await http.get(path, params={"limit": value}, headers=auth(ADMIN)), 400, "limit")


async def test_a_huge_page_size_within_the_number_format_is_capped(
    http: httpx.AsyncClient, auth: TokenFactory
) -> None:
    response = await http.get("/api/appointments", params={"pageSize": "999999999999"}, headers=auth(AGENT))
    assert response.status_code == 200, response.text
    assert response.json()["pageSize"] == 100


@pytest.mark.parametrize(
    "query",
    [
        "&".join(f"organizerId={uuid.uuid4()}" for _ in range(1000)),
        "organizerId=" + ",".join(["a"] * 20_000),
        "organizerId=" + ",".join(str(i) for i in range(101)),
        "duration=" + ",".join(["PT5M"] * 101),
    ],
    ids=["1000-repeated", "20000-comma-separated", "101", "101-durations"],
)
async def test_thousands_of_query_values_are_400(
    http: httpx.AsyncClient, auth: TokenFactory, query: str
) -> None:
    response = await http.get(f"/api/appointments?{query}", headers=auth(SUPERVISOR))
    assert "at most 100 values" in assert_error(response, 400, query.split("=", maxsplit=1)[0])["message"]


async def test_a_hundred_organizers_are_fine(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    query = "&".join(f"organizerId={uuid.uuid4()}" for _ in range(100))
    assert (await http.get(f"/api/appointments?{query}", headers=auth(SUPERVISOR))).status_code == 200


@pytest.mark.parametrize(
    ("path", "field"),
    [
        (
            "/api/appointments/count?applicationId=a%00b&start=2030-01-01T00:00:00Z&timeFrame=PT1H",
            "applicationId",
        ),
        (
            "/api/appointments/overlap/count?applicationId=a&start=2030-01-01T00:00:00Z%1b&duration=PT1H",
            "start",
        ),
        ("/api/appointments?organizerId=a%07", "organizerId"),
        ("/api/appointments?sortField=start%00", "sortField"),
        ("/api/appointments?range=2030-01-01T00:00:00Z,%0a2030-01-02T00:00:00Z", "range"),
    ],
)
async def test_control_characters_in_query_parameters_are_400(
    http: httpx.AsyncClient, auth: TokenFactory, path: str, field: str
) -> None:
    assert_error(await http.get(path, headers=auth(SUPERVISOR)), 400, field)


# -- path parameters --------------------------------------------------------------------------

HOSTILE_IDS = [
    "..%2F..%2Fetc%2Fpasswd",
    "..%5C..%5Cwindows",
    "%2e%2e",
    "%00",
    "abc%00def",
    "%0d%0aX-Injected:%201",
    "%ff%fe",
    "%F0%9F%98%80",
    "' OR 1=1 --",
    "00000000-0000-0000-0000-000000000000",
    "x" * 10_000,
    "%41" * 5_000,
]


@pytest.mark.parametrize("raw_id", HOSTILE_IDS, ids=lambda raw: raw[:20])
async def test_hostile_path_parameters_are_400_or_404(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str, raw_id: str
) -> None:
    agent, admin = auth(AGENT), auth(ADMIN)
    attempts = [
        ("GET", f"/api/appointments/{raw_id}", agent),
        ("DELETE", f"/api/appointments/{raw_id}", agent),
        ("PUT", f"/api/appointments/{raw_id}/end", agent),
        ("GET", f"/api/appointments/{uuid.uuid4()}/participants/{raw_id}", agent),
        ("GET", f"/api/cal/events/ical/{raw_id}/event", {}),
        ("GET", f"/api/cal/events/google/{raw_id}/event", {}),
        ("GET", f"/api/applications/{raw_id}/settings", admin),
        ("GET", f"/api/applications/{application_id}/webhooks/{raw_id}", admin),
        ("DELETE", f"/api/applications/{application_id}/webhooks/{raw_id}", admin),
        ("GET", f"/api/applications/{application_id}/webhooks/{raw_id}/deliveries", admin),
    ]
    for method, path, headers in attempts:
        response = await http.request(method, path, headers=headers)
        assert response.status_code in (400, 404), (
            method,
            path[:80],
            response.status_code,
            response.text[:300],
        )
        assert_error(response, response.status_code)

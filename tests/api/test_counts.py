"""Slot counts and overlap counts: unauthenticated reads over one application's appointments."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from domain.access import Role
from tests.api.conftest import TokenFactory
from tests.support.requests import iso, schedule_body

AGENT, CLIENT_SERVICE = Role.AGENT, Role.CLIENT_SERVICE
COUNT, OVERLAP = "/api/appointments/count", "/api/appointments/overlap/count"


def _base(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=8, minute=0, second=0, microsecond=0)


async def _schedule(
    http: httpx.AsyncClient,
    headers: dict[str, str],
    start: datetime,
    duration: str = "PT30M",
    timezone: str = "Europe/Berlin",
) -> dict[str, Any]:
    body = schedule_body(start=start, duration=duration, timezone=timezone)
    response = await http.post("/api/appointments/", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _slot(count: int, start: datetime, duration: timedelta, text: str, timezone: str) -> dict[str, Any]:
    return {
        "count": count,
        "duration": text,
        "start": iso(start),
        "end": iso(start + duration),
        "timezone": timezone,
    }


def _quoted(moment: datetime) -> str:
    """As the contract's example URL sends it: `"2022-01-31T19:00:00.0Z"`, quotes included."""
    return f'"{moment.strftime("%Y-%m-%dT%H:%M:%S")}.0Z"'


# -- slot counts -----------------------------------------------------------------------------


async def test_count_groups_open_appointments_per_slot_within_the_window(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    agent = auth(AGENT, sub="agent-count")
    base = _base(20)
    half_hour, quarter = timedelta(minutes=30), timedelta(minutes=15)

    at_window_start = await _schedule(http, agent, base, "PT15M", "UTC")
    for _ in range(2):
        await _schedule(http, agent, base + timedelta(hours=1))
    # Same start and length, another time zone: a slot of its own.
    await _schedule(http, agent, base + timedelta(hours=1), timezone="UTC")
    await _schedule(http, agent, base + timedelta(hours=2), "PT15M", "UTC")
    deleted = await _schedule(http, agent, base + timedelta(hours=3))
    assert (await http.delete(f"/api/appointments/{deleted['id']}", headers=agent)).status_code == 204
    activated = await _schedule(http, agent, base + timedelta(hours=4))
    activation = await http.post(
        f"/api/appointments/activate/{activated['id']}", headers=auth(CLIENT_SERVICE)
    )
    assert activation.status_code == 200, activation.text
    # Outside [base, base + 10h): exactly at the window's end, and before its start.
    await _schedule(http, agent, base + timedelta(hours=10))
    await _schedule(http, agent, base - timedelta(hours=1))
    # Another application's appointment in the very same slot.
    await _schedule(http, auth(AGENT, application_id=str(uuid.uuid4())), base + timedelta(hours=1))

    response = await http.get(
        COUNT, params={"applicationId": application_id, "start": iso(base), "timeFrame": "PT10H"}
    )
    assert response.status_code == 200, response.text
    rows = response.json()
    assert [row["start"] for row in rows] == sorted(row["start"] for row in rows)
    for row in rows:
        assert set(row) == {"count", "duration", "end", "start", "timezone"}
    expected = [
        _slot(1, base, quarter, "PT15M", "UTC"),
        _slot(2, base + timedelta(hours=1), half_hour, "PT30M", "Europe/Berlin"),
        _slot(1, base + timedelta(hours=1), half_hour, "PT30M", "UTC"),
        _slot(1, base + timedelta(hours=2), quarter, "PT15M", "UTC"),
        _slot(1, base + timedelta(hours=4), half_hour, "PT30M", "Europe/Berlin"),
    ]

    def key(row: dict[str, Any]) -> tuple[str, str, str]:
        return row["start"], row["end"], row["timezone"]

    assert sorted(rows, key=key) == sorted(expected, key=key)
    assert at_window_start["start"] == iso(base)

    # The contract's own example form: quoted values, fractional seconds.
    quoted = await http.get(
        COUNT, params={"applicationId": application_id, "start": _quoted(base), "timeFrame": '"PT10H"'}
    )
    assert quoted.status_code == 200, quoted.text
    assert quoted.json() == rows
    assert "%22" in str(quoted.request.url)

    # A narrower window.
    narrow = await http.get(
        COUNT,
        params={
            "applicationId": application_id,
            "start": iso(base + timedelta(minutes=30)),
            "timeFrame": "PT1H",
        },
    )
    assert narrow.status_code == 200
    assert sorted(narrow.json(), key=key) == sorted(expected[1:3], key=key)


async def test_count_of_an_application_without_appointments_is_an_empty_list(
    http: httpx.AsyncClient, application_id: str
) -> None:
    response = await http.get(
        COUNT, params={"applicationId": application_id, "start": iso(_base(20)), "timeFrame": "P7D"}
    )
    assert response.status_code == 200 and response.json() == []


async def test_count_needs_no_token_and_ignores_a_bad_one(
    http: httpx.AsyncClient, application_id: str
) -> None:
    params = {"applicationId": application_id, "start": iso(_base(20)), "timeFrame": "PT1H"}
    assert (await http.get(COUNT, params=params)).status_code == 200
    assert (await http.get(f"{COUNT}/", params=params)).status_code == 200
    assert (
        await http.get(COUNT, params=params, headers={"Authorization": "Bearer garbage"})
    ).status_code == 200


# -- overlap counts --------------------------------------------------------------------------


async def _overlap(http: httpx.AsyncClient, application_id: str, start: datetime | str, duration: str) -> int:
    params = {
        "applicationId": application_id,
        "start": start if isinstance(start, str) else iso(start),
        "duration": duration,
    }
    response = await http.get(OVERLAP, params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"count"}
    return body["count"]


async def test_overlap_counts_open_appointments_intersecting_the_interval(
    http: httpx.AsyncClient, auth: TokenFactory, application_id: str
) -> None:
    agent = auth(AGENT, sub="agent-overlap")
    base = _base(25)
    hour = timedelta(hours=1)
    await _schedule(http, agent, base + hour, "PT1H")  # [1h, 2h)
    await _schedule(http, agent, base + timedelta(hours=1, minutes=30), "PT1H")  # [1h30, 2h30)
    await _schedule(http, agent, base + timedelta(hours=5), "PT30M")  # [5h, 5h30)
    ended = await _schedule(http, agent, base + timedelta(hours=1, minutes=30), "PT30M")
    assert (await http.put(f"/api/appointments/{ended['id']}/end", headers=agent)).status_code == 200
    deleted = await _schedule(http, agent, base + timedelta(hours=1, minutes=30), "PT30M")
    assert (await http.delete(f"/api/appointments/{deleted['id']}", headers=agent)).status_code == 204
    activated = await _schedule(http, agent, base + timedelta(hours=7), "PT30M")  # [7h, 7h30)
    activation = await http.post(
        f"/api/appointments/activate/{activated['id']}", headers=auth(CLIENT_SERVICE)
    )
    assert activation.status_code == 200, activation.text
    # Another application's appointment overlapping everything asked below.
    await _schedule(http, auth(AGENT, application_id=str(uuid.uuid4())), base + hour, "PT23H")

    # [1h45, 2h15) intersects the first two.
    assert await _overlap(http, application_id, base + timedelta(hours=1, minutes=45), "PT30M") == 2
    # Touching ends do not overlap: [2h30, 3h30) starts where the second ends...
    assert await _overlap(http, application_id, base + timedelta(hours=2, minutes=30), "PT1H") == 0
    # ... [4h30, 5h) ends where the third starts, and [0h, 1h) where the first starts.
    assert await _overlap(http, application_id, base + timedelta(hours=4, minutes=30), "PT30M") == 0
    assert await _overlap(http, application_id, base, "PT1H") == 0
    # One minute more and they do.
    assert await _overlap(http, application_id, base, "PT1H1M") == 1
    assert await _overlap(http, application_id, base + timedelta(hours=2, minutes=29), "PT1H") == 1
    # Inside a longer appointment.
    assert await _overlap(http, application_id, base + timedelta(hours=1, minutes=10), "PT5M") == 1
    # The activated one counts; the ended and deleted ones never do.
    assert await _overlap(http, application_id, base + timedelta(hours=7, minutes=10), "PT5M") == 1
    assert await _overlap(http, application_id, base, "PT10H") == 4

    # The contract's example form.
    quoted = await _overlap(http, application_id, _quoted(base + timedelta(hours=1, minutes=45)), '"PT30M"')
    assert quoted == 2


async def test_overlap_of_an_application_without_appointments_is_zero(
    http: httpx.AsyncClient, application_id: str
) -> None:
    assert await _overlap(http, application_id, _base(25), "PT1H") == 0


# -- bad input -------------------------------------------------------------------------------

WHEN = "2030-01-31T19:00:00Z"
MISSING = [
    (COUNT, "applicationId", {"start": WHEN, "timeFrame": "PT1H"}),
    (COUNT, "start", {"applicationId": "app", "timeFrame": "PT1H"}),
    (COUNT, "timeFrame", {"applicationId": "app", "start": WHEN}),
    (OVERLAP, "applicationId", {"start": WHEN, "duration": "PT1H"}),
    (OVERLAP, "start", {"applicationId": "app", "duration": "PT1H"}),
    (OVERLAP, "duration", {"applicationId": "app", "start": WHEN}),
]
MISSING_IDS = [
    f"{path.rsplit('/', 2)[-2] if 'overlap' in path else 'count'}-{name}" for path, name, _ in MISSING
]


@pytest.mark.parametrize(("path", "name", "params"), MISSING, ids=MISSING_IDS)
async def test_a_missing_parameter_is_400_naming_it(
    http: httpx.AsyncClient, path: str, name: str, params: dict[str, str]
) -> None:
    response = await http.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400 and f"'{name}'" in body["message"], body


@pytest.mark.parametrize(("path", "name", "params"), MISSING, ids=MISSING_IDS)
async def test_a_missing_parameter_is_400_with_its_field(
    http: httpx.AsyncClient, path: str, name: str, params: dict[str, str]
) -> None:
    response = await http.get(path, params=params)
    assert response.status_code == 400
    assert response.json().get("field") == name, response.text


BAD = [
    (COUNT, "start", {"applicationId": "app", "start": "tomorrow", "timeFrame": "PT1H"}),
    (COUNT, "timeFrame", {"applicationId": "app", "start": WHEN, "timeFrame": "10h"}),
    (COUNT, "timeFrame", {"applicationId": "app", "start": WHEN, "timeFrame": "PT0S"}),
    (COUNT, "timeFrame", {"applicationId": "app", "start": WHEN, "timeFrame": "P1M"}),
    (COUNT, "timeFrame", {"applicationId": "app", "start": WHEN, "timeFrame": "P400D"}),
    (COUNT, "timeFrame", {"applicationId": "app", "start": WHEN, "timeFrame": "P31DT1S"}),
    (OVERLAP, "start", {"applicationId": "app", "start": "2030-13-45T25:00:00Z", "duration": "PT1H"}),
    (OVERLAP, "duration", {"applicationId": "app", "start": WHEN, "duration": "5min"}),
    (OVERLAP, "duration", {"applicationId": "app", "start": WHEN, "duration": "PT0S"}),
    (OVERLAP, "duration", {"applicationId": "app", "start": WHEN, "duration": "-PT5M"}),
    (OVERLAP, "duration", {"applicationId": "app", "start": WHEN, "duration": "P1000000000D"}),
    (OVERLAP, "duration", {"applicationId": "app", "start": WHEN, "duration": "P32D"}),
]


@pytest.mark.parametrize(
    ("path", "field", "params"),
    BAD,
    ids=[f"{'overlap' if 'overlap' in p else 'count'}-{f}={q[f]}" for p, f, q in BAD],
)
async def test_a_bad_value_is_400_naming_the_field(
    http: httpx.AsyncClient, path: str, field: str, params: dict[str, str]
) -> None:
    response = await http.get(path, params=params)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400 and body["field"] == field, body
    assert field in body["message"]


async def test_the_time_frame_limit_message_states_the_real_limit(http: httpx.AsyncClient) -> None:
    response = await http.get(COUNT, params={"applicationId": "app", "start": WHEN, "timeFrame": "P400D"})
    assert response.status_code == 400
    assert "one day" not in response.json()["message"], response.text
    assert "P31D" in response.json()["message"], response.text

"""`GET /api/appointments/`: role-scoped listing with filters, paging and sorting, over HTTP.

One application is seeded once for the module and only read by the tests:

| name    | organizer | start (from base) | duration | title   |
|---------|-----------|-------------------|----------|---------|
| alpha   | agent-a   | +0h               | PT30M    | Alpha   |
| bravo   | agent-b   | +2h               | PT23H    | Bravo   |
| foxtrot | cs-1 (CS) | +5h               | PT15M    | Foxtrot |
| golf    | agent-a   | +6h  (deleted)    | PT20M    | Golf    |
| charlie | agent-a   | +1d               | PT5M     | Charlie |
| echo    | agent-c   | +1d4h             | PT45M    | Echo    |
| delta   | agent-b   | +3d               | PT10M    | Delta   |

agent-b also takes part in alpha (added as a participant), without organizing it.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from api.auth.tokens import mint_token
from domain.access import Role
from tests.api.conftest import JWT_SECRET, Stack, TokenFactory
from tests.support.requests import iso, schedule_body

AGENT, SUPERVISOR, CLIENT_SERVICE, CUSTOMER = Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.CUSTOMER


PAGE_KEYS = {"content", "pageCount", "pageNumber", "pageSize", "sortField", "sortOrder", "total"}

# name: (organizer sub, role, offset from base, duration, title)
SEED: dict[str, tuple[str, Role, timedelta, timedelta, str]] = {
    "alpha": ("agent-a", AGENT, timedelta(0), timedelta(minutes=30), "Alpha"),
    "bravo": ("agent-b", AGENT, timedelta(hours=2), timedelta(hours=23), "Bravo"),
    "foxtrot": ("cs-1", CLIENT_SERVICE, timedelta(hours=5), timedelta(minutes=15), "Foxtrot"),
    "golf": ("agent-a", AGENT, timedelta(hours=6), timedelta(minutes=20), "Golf"),
    "charlie": ("agent-a", AGENT, timedelta(days=1), timedelta(minutes=5), "Charlie"),
    "echo": ("agent-c", AGENT, timedelta(days=1, hours=4), timedelta(minutes=45), "Echo"),
    "delta": ("agent-b", AGENT, timedelta(days=3), timedelta(minutes=10), "Delta"),
}
DELETED = "golf"
LISTED = [name for name in SEED if name != DELETED]
BY_START = ["alpha", "bravo", "foxtrot", "charlie", "echo", "delta"]


@dataclass(frozen=True)
class Seeded:
    application_id: str
    base: datetime
    ids: dict[str, str]
    names: dict[str, str]

    def names_of(self, page: dict[str, Any]) -> list[str]:
        return [self.names[item["id"]] for item in page["content"]]


def _headers(role: Role, sub: str, application_id: str) -> dict[str, str]:
    token = mint_token(JWT_SECRET, sub=sub, roles=[role.value], application_id=application_id)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def seeded(stack: Stack) -> AsyncIterator[Seeded]:
    application_id = str(uuid.uuid4())
    base = (datetime.now(UTC) + timedelta(days=10)).replace(hour=9, minute=0, second=0, microsecond=0)
    ids: dict[str, str] = {}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        for name, (sub, role, offset, duration, title) in SEED.items():
            seconds = int(duration.total_seconds())
            body = schedule_body(start=base + offset, duration=f"PT{seconds}S", title=title)
            response = await http.post(
                "/api/appointments/", json=body, headers=_headers(role, sub, application_id)
            )
            assert response.status_code == 200, response.text
            ids[name] = response.json()["id"]
        organizer_a = _headers(AGENT, "agent-a", application_id)
        added = await http.post(
            "/api/appointments/participants/agents/",
            json={"id": ids["alpha"], "userId": "agent-b"},
            headers=organizer_a,
        )
        assert added.status_code == 200, added.text
        deleted = await http.delete(f"/api/appointments/{ids[DELETED]}", headers=organizer_a)
        assert deleted.status_code == 204, deleted.text
    yield Seeded(application_id=application_id, base=base, ids=ids, names={v: k for k, v in ids.items()})


async def _list(
    http: httpx.AsyncClient, headers: dict[str, str], params: Any = None, path: str = "/api/appointments/"
) -> dict[str, Any]:
    response = await http.get(path, params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def _supervisor(auth: TokenFactory, seeded: Seeded) -> dict[str, str]:
    return auth(SUPERVISOR, sub="supervisor-1", application_id=seeded.application_id)


# -- who sees what ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/appointments/", "/api/appointments"])
async def test_a_supervisor_sees_every_appointment_of_its_application(
    http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded, path: str
) -> None:
    supervisor = _supervisor(auth, seeded)
    page = await _list(http, supervisor, path=path)
    assert set(page) == PAGE_KEYS
    assert seeded.names_of(page) == BY_START
    assert page["total"] == len(LISTED) and page["pageCount"] == 1
    assert page["pageNumber"] == 1 and page["pageSize"] == 25
    assert page["sortOrder"] == "asc"
    # Each item is the appointment as GET shows it.
    for item in page["content"]:
        shown = await http.get(f"/api/appointments/{item['id']}", headers=supervisor)
        assert item == shown.json()


async def test_an_agent_sees_only_what_it_organizes_whatever_organizerId_says(
    http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded
) -> None:
    agent_a = auth(AGENT, sub="agent-a", application_id=seeded.application_id)
    assert seeded.names_of(await _list(http, agent_a)) == ["alpha", "charlie"]
    assert seeded.names_of(await _list(http, agent_a, {"organizerId": "agent-b"})) == ["alpha", "charlie"]
    assert seeded.names_of(await _list(http, agent_a, {"organizerId": "agent-b,agent-c"})) == [
        "alpha",
        "charlie",
    ]

    # agent-b takes part in alpha but does not organize it.
    agent_b = auth(AGENT, sub="agent-b", application_id=seeded.application_id)
    page = await _list(http, agent_b, {"organizerId": "agent-a"})
    assert seeded.names_of(page) == ["bravo", "delta"] and page["total"] == 2

    nobody = auth(AGENT, sub="agent-without-appointments", application_id=seeded.application_id)
    empty = await _list(http, nobody)
    assert empty["content"] == [] and empty["total"] == 0


async def test_a_client_service_sees_only_its_own(
    http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded
) -> None:
    client_service = auth(CLIENT_SERVICE, sub="cs-1", application_id=seeded.application_id)
    assert seeded.names_of(await _list(http, client_service)) == ["foxtrot"]
    assert seeded.names_of(await _list(http, client_service, {"organizerId": "agent-a"})) == ["foxtrot"]
    other = auth(CLIENT_SERVICE, sub="cs-2", application_id=seeded.application_id)
    assert (await _list(http, other))["total"] == 0


async def test_a_supervisor_filters_by_organizers_comma_separated_or_repeated(
    http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded
) -> None:
    supervisor = _supervisor(auth, seeded)
    comma = await _list(http, supervisor, {"organizerId": "agent-a,agent-b"})
    assert seeded.names_of(comma) == ["alpha", "bravo", "charlie", "delta"] and comma["total"] == 4
    repeated = await _list(http, supervisor, [("organizerId", "agent-a"), ("organizerId", "cs-1")])
    assert seeded.names_of(repeated) == ["alpha", "foxtrot", "charlie"]
    single = await _list(http, supervisor, {"organizerId": "agent-c"})
    assert seeded.names_of(single) == ["echo"]
    unknown = await _list(http, supervisor, {"organizerId": "nobody"})
    assert unknown["content"] == [] and unknown["total"] == 0


async def test_the_own_applicationId_is_accepted(
    http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded
) -> None:
    page = await _list(http, _supervisor(auth, seeded), {"applicationId": seeded.application_id})
    assert page["total"] == len(LISTED)


# -- filters ---------------------------------------------------------------------------------


async def test_duration_filter(http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded) -> None:
    supervisor = _supervisor(auth, seeded)
    assert seeded.names_of(await _list(http, supervisor, {"duration": "PT5M,PT30M"})) == ["alpha", "charlie"]
    repeated = await _list(http, supervisor, [("duration", "PT23H"), ("duration", "PT45M")])
    assert seeded.names_of(repeated) == ["bravo", "echo"]
    # The deleted appointment's duration matches nothing.
    assert (await _list(http, supervisor, {"duration": "PT20M"}))["total"] == 0


async def test_range_filter_is_start_inclusive_end_exclusive(
    http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded
) -> None:
    supervisor = _supervisor(auth, seeded)
    base = seeded.base
    page = await _list(http, supervisor, {"range": f"{iso(base)},{iso(base + timedelta(days=1, hours=4))}"})
    assert seeded.names_of(page) == ["alpha", "bravo", "foxtrot", "charlie"]
    later = await _list(
        http, supervisor, {"range": f"{iso(base + timedelta(hours=1))},{iso(base + timedelta(days=2))}"}
    )
    assert seeded.names_of(later) == ["bravo", "foxtrot", "charlie", "echo"]
    combined = await _list(
        http,
        supervisor,
        {
            "range": f"{iso(base + timedelta(hours=1))},{iso(base + timedelta(days=4))}",
            "organizerId": "agent-b",
            "duration": "PT10M",
        },
    )
    assert seeded.names_of(combined) == ["delta"]


# -- paging and sorting ----------------------------------------------------------------------


async def test_paging(http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded) -> None:
    supervisor = _supervisor(auth, seeded)
    page = await _list(http, supervisor, {"pageSize": 2, "pageNumber": 2})
    assert seeded.names_of(page) == BY_START[2:4]
    assert page["pageSize"] == 2 and page["pageNumber"] == 2
    assert page["total"] == len(LISTED) and page["pageCount"] == math.ceil(len(LISTED) / 2)

    last = await _list(http, supervisor, {"pageSize": 4, "pageNumber": 2})
    assert seeded.names_of(last) == BY_START[4:] and last["pageCount"] == 2

    capped = await _list(http, supervisor, {"pageSize": 1000})
    assert capped["pageSize"] == 100 and capped["total"] == len(LISTED)


@pytest.mark.parametrize(
    ("field", "ascending"),
    [
        ("start", BY_START),
        ("end", ["alpha", "foxtrot", "charlie", "bravo", "echo", "delta"]),
        ("title", ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]),
        ("duration", ["charlie", "delta", "foxtrot", "alpha", "echo", "bravo"]),
    ],
)
async def test_sorting(
    http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded, field: str, ascending: list[str]
) -> None:
    supervisor = _supervisor(auth, seeded)
    asc = await _list(http, supervisor, {"sortField": field, "sortOrder": "asc"})
    assert seeded.names_of(asc) == ascending
    assert asc["sortField"] == field and asc["sortOrder"] == "asc"
    desc = await _list(http, supervisor, {"sortField": field, "sortOrder": "desc"})
    assert seeded.names_of(desc) == ascending[::-1]
    assert desc["sortField"] == field and desc["sortOrder"] == "desc"
    paged = await _list(
        http, supervisor, {"sortField": field, "sortOrder": "desc", "pageSize": 2, "pageNumber": 3}
    )
    assert seeded.names_of(paged) == ascending[::-1][4:6]


# -- refusals --------------------------------------------------------------------------------

BAD_PARAMS: list[tuple[str, Any]] = [
    ("sortField", {"sortField": "colour"}),
    ("sortOrder", {"sortOrder": "up"}),
    ("pageNumber", {"pageNumber": 0}),
    ("pageNumber", {"pageNumber": "first"}),
    ("pageSize", {"pageSize": 0}),
    ("pageSize", {"pageSize": -5}),
    ("pageSize", {"pageSize": "99999999999999999999999"}),
    ("range", {"range": "2030-01-01T00:00:00Z"}),
    ("range", {"range": "garbage,x"}),
    ("range", {"range": "2030-01-02T00:00:00Z,2030-01-01T00:00:00Z"}),
    ("duration", {"duration": "5min"}),
    ("duration", {"duration": "PT5M,P1M"}),
    # An empty item of a typed list, as an empty typed value, is none of its type.
    ("range", {"range": ["", ""]}),
    ("duration", {"duration": "PT5M,"}),
    # Organizer ids are held to what any id is (domain.values.parse_id).
    ("organizerId", {"organizerId": "x" * 101}),
    ("organizerId", {"organizerId": "a\u2028b"}),
]


@pytest.mark.parametrize(("field", "params"), BAD_PARAMS, ids=[f"{f}={p[f]}" for f, p in BAD_PARAMS])
async def test_bad_parameters_are_400_naming_the_field(
    http: httpx.AsyncClient, auth: TokenFactory, field: str, params: dict[str, Any]
) -> None:
    response = await http.get("/api/appointments/", params=params, headers=auth(SUPERVISOR))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["status"] == 400 and body["field"] == field, body


async def test_another_applications_id_is_403(http: httpx.AsyncClient, auth: TokenFactory) -> None:
    response = await http.get(
        "/api/appointments/", params={"applicationId": str(uuid.uuid4())}, headers=auth(SUPERVISOR)
    )
    assert response.status_code == 403, response.text
    assert response.json()["status"] == 403


@pytest.mark.parametrize("role", [CUSTOMER, Role.ADMIN])
async def test_roles_the_contract_does_not_allow_are_403(
    http: httpx.AsyncClient, auth: TokenFactory, role: Role
) -> None:
    response = await http.get("/api/appointments/", headers=auth(role, conference_id=str(uuid.uuid4())))
    assert response.status_code == 403, response.text
    assert response.json()["status"] == 403


async def test_without_a_token_it_is_401(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/appointments/")
    assert response.status_code == 401, response.text


async def test_another_application_sees_none_of_them(
    http: httpx.AsyncClient, auth: TokenFactory, seeded: Seeded, application_id: str
) -> None:
    assert application_id != seeded.application_id
    page = await _list(http, auth(SUPERVISOR))
    assert page["content"] == [] and page["total"] == 0
    assert set(page) == PAGE_KEYS and page["pageNumber"] == 1

"""Clients generated from the served OpenAPI document work as generated, against the live API.

The document is fetched from the running service (`/schema/openapi.json`), as a user of the API
would fetch it. From it:

- openapi-python-client generates a Python package, imported here and driven over HTTP:
  schedule, read, list with paging, sorting and filters, reschedule, activate, the public counts
  with an anonymous client, and the `.ics` download;
- openapi-typescript generates types for tests/support/typed_client.ts, which `tsc --strict`
  checks and node runs against the same API.

Nothing is patched around a generator: a warning, a wrong type or a call that needs raw HTTP
is a defect of the document, and fails here. The names are the contract's: its schemas, its
operationIds (which name the Python modules), `id` and `pid` as path parameters, integer paging
and an asc|desc sort order.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import shutil
import typing
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import icalendar
import pytest

from domain.access import Role
from tests.api.conftest import Stack, TokenFactory
from tests.support.generated_clients import (
    TYPED_CLIENT,
    Run,
    complaints,
    generate_python_client,
    imported,
    run,
    typescript_tools,
)
from tests.support.requests import iso
from tests.support.secrets import SERVICE_KEYS

AGENT, CLIENT_SERVICE = Role.AGENT, Role.CLIENT_SERVICE

SCHEMAS = [
    "ScheduleAppointmentRequest",
    "UpdateAppointmentRequest",
    "RescheduleAppointmentRequest",
    "AddParticipantAgentRequest",
    "AddParticipantCustomerRequest",
    "GetAppointmentResponse",
    "FindAppointmentsResponsePaged",
    "GetParticipantDetailsResponse",
    "AppointmentActivationResponse",
    "AppointmentCountResponse",
    "AppointmentOverlapResponse",
    "ServiceConfirmationRequest",
    "EmailNotificationRequest",
]
OPERATIONS = [
    "findAppointments",
    "scheduleAppointment",
    "updateAppointment",
    "rescheduleAppointment",
    "getAppointment",
    "deleteAppointment",
    "endAppointment",
    "activateAppointment",
    "addParticipantAgent",
    "addParticipantCustomer",
    "reassignAppointment",
    "getParticipant",
    "removeParticipant",
    "countAppointments",
    "findEligibleAppointments",
    "countOverlappingAppointments",
    "requestCustomerOtp",
    "scheduleAppointmentAsCustomer",
    "getGoogleCalendarEvent",
    "getIcalEvent",
    "confirmEmailService",
    "sendTestEmail",
    "verifyEmailService",
]
# Anyone may call these: the generated functions must take a client without credentials.
PUBLIC = ["countAppointments", "countOverlappingAppointments", "getGoogleCalendarEvent", "getIcalEvent"]


def _snake(operation_id: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def _base(days: int) -> datetime:
    return (datetime.now(UTC) + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


def _token(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


# -- the document ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
async def document(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The document as the running service serves it, saved to a file for the generators."""
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=30) as http:
        response = await http.get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    path.write_bytes(response.content)
    return path


# -- Python ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PythonClient:
    generated: Run
    package: ModuleType
    base_url: str

    def module(self, dotted: str) -> Any:
        return importlib.import_module(f"{self.package.__name__}.{dotted}")

    def operation(self, operation_id: str) -> Any:
        """The module of an operation: api/<tag>/<operationId in snake case>.py."""
        name = _snake(operation_id)
        found = sorted(Path(self.package.__file__ or "").parent.glob(f"api/*/{name}.py"))
        assert found, f"no module {name}.py: the document has no operationId {operation_id!r}"
        return self.module(f"api.{found[0].parent.name}.{name}")

    @property
    def models(self) -> Any:
        return self.module("models")

    def anonymous(self) -> Any:
        return self.package.Client(base_url=self.base_url, raise_on_unexpected_status=True, timeout=30)

    def authenticated(self, headers: dict[str, str]) -> Any:
        return self.package.AuthenticatedClient(
            base_url=self.base_url, token=_token(headers), raise_on_unexpected_status=True, timeout=30
        )


@pytest.fixture(scope="module")
async def python_generated(document: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    # A name of its own, so that nothing imported from another session's package is reused.
    package = tmp_path_factory.mktemp("python-client") / f"appointments_client_{uuid.uuid4().hex[:8]}"
    return await generate_python_client(document, package), package


@pytest.fixture(scope="module")
def python_client(python_generated: tuple[Run, Path], stack: Stack) -> Iterator[PythonClient]:
    generated, package = python_generated
    assert generated.returncode == 0, str(generated)
    with imported(package) as module:
        yield PythonClient(generated=generated, package=module, base_url=stack.base_url)


def _ok(response: Any, model: type) -> Any:
    """The parsed body of a 200 answer, as the generated model."""
    assert response.status_code == 200, (response.status_code, response.content)
    assert isinstance(response.parsed, model), response.parsed
    return response.parsed


async def _schedule(client: PythonClient, agent: Any, start: datetime, **fields: Any) -> Any:
    models = client.models
    body = models.ScheduleAppointmentRequest(
        start=start,
        duration=fields.pop("duration", "PT30M"),
        timezone=fields.pop("timezone", "Europe/Berlin"),
        title=fields.pop("title", "Generated client"),
        **fields,
    )
    response = await client.operation("scheduleAppointment").asyncio_detailed(client=agent, body=body)
    return _ok(response, models.GetAppointmentResponse)


def test_the_python_generator_reads_the_document_without_a_warning(
    python_generated: tuple[Run, Path],
) -> None:
    generated, _ = python_generated
    assert generated.returncode == 0, str(generated)
    assert complaints(generated.output) == [], str(generated)


def test_the_python_client_names_operations_by_the_contracts_operation_ids(
    python_client: PythonClient,
) -> None:
    api = Path(python_client.package.__file__ or "").parent / "api"
    modules = {path.stem for path in api.glob("*/*.py")}
    missing = [operation_id for operation_id in OPERATIONS if _snake(operation_id) not in modules]
    assert not missing, f"no operations {missing}; the generated modules are {sorted(modules)}"


def test_the_python_client_names_models_by_the_contracts_schemas(python_client: PythonClient) -> None:
    models = python_client.models
    missing = [name for name in SCHEMAS if not hasattr(models, name)]
    assert not missing, f"no models {missing}; the generated models are {sorted(models.__all__)}"


def test_the_python_client_types_parameters_as_the_contract_does(python_client: PythonClient) -> None:
    find = typing.get_type_hints(python_client.operation("findAppointments").asyncio_detailed)
    for paging in ("page_size", "page_number"):
        assert int in typing.get_args(find[paging]), f"{paging} is typed {find[paging]}"
        assert str not in typing.get_args(find[paging]), f"{paging} is typed {find[paging]}"
    orders = [t for t in typing.get_args(find["sort_order"]) if isinstance(t, type) and issubclass(t, Enum)]
    assert len(orders) == 1, f"sort_order is typed {find['sort_order']}, not an enum"
    assert {member.value for member in orders[0]} == {"asc", "desc"}

    for operation_id, names in (
        ("getAppointment", ["id"]),
        ("activateAppointment", ["id"]),
        ("getIcalEvent", ["id", "key"]),
        ("getParticipant", ["id", "pid"]),
    ):
        parameters = inspect.signature(python_client.operation(operation_id).asyncio_detailed).parameters
        assert [name for name in parameters if name != "client"] == names, operation_id

    for operation_id in PUBLIC:
        client = typing.get_type_hints(python_client.operation(operation_id).asyncio_detailed)["client"]
        assert python_client.package.Client in typing.get_args(client), (
            f"{operation_id} needs an AuthenticatedClient ({client}), yet it takes no credentials"
        )


async def test_the_python_client_schedules_reads_and_reschedules(
    python_client: PythonClient, auth: TokenFactory, application_id: str
) -> None:
    models = python_client.models
    start = _base(31)
    customer = models.CustomerDetails(
        name=models.Name(first_name="Ada", last_name="Lovelace"),
        contact=models.Contact(primary_email="ada@example.test", primary_phone="2102234988"),
        username="ada@example.test",
    )
    metadata = models.ScheduleAppointmentRequestMetadata.from_dict({"refNo": "GEN-1"})
    async with python_client.authenticated(auth(AGENT, sub="agent-generated")) as agent:
        created = await _schedule(
            python_client,
            agent,
            start,
            title="Installation review",
            notes="CRM ref: 3nv-1gt-4rt",
            locale="en-GB",
            metadata=metadata,
            customer=customer,
        )
        assert created.application_id == application_id
        assert created.title == "Installation review" and created.notes == "CRM ref: 3nv-1gt-4rt"
        assert created.locale == "en-GB" and created.timezone == "Europe/Berlin"
        assert created.metadata.additional_properties == {"refNo": "GEN-1"}
        assert created.start == start and created.end == start + timedelta(minutes=30)
        assert created.duration == "PT30M"
        assert created.status == models.Status.SCHEDULED and created.version == 1
        assert created.organizer.id == "agent-generated"
        assert created.organizer.type_ == models.ParticipantType.AGENT
        customers = [p for p in created.participant_ids if p.type_ == models.ParticipantType.CUSTOMER]
        assert len(customers) == 1

        fetched = await python_client.operation("getAppointment").asyncio_detailed(
            client=agent, id=created.id
        )
        assert _ok(fetched, models.GetAppointmentResponse) == created

        participant = await python_client.operation("getParticipant").asyncio_detailed(
            client=agent, id=created.id, pid=customers[0].id
        )
        details = _ok(participant, models.GetParticipantDetailsResponse)
        assert details.type_ == models.ParticipantType.CUSTOMER
        assert (details.name.first_name, details.name.last_name) == ("Ada", "Lovelace")
        assert details.contact.primary_email == "ada@example.test"
        assert details.username == "ada@example.test"

        later = start + timedelta(days=2, hours=3)
        rescheduled = await python_client.operation("rescheduleAppointment").asyncio_detailed(
            client=agent,
            body=models.RescheduleAppointmentRequest(
                id=created.id, start=later, duration="PT1H", timezone="UTC"
            ),
        )
        moved = _ok(rescheduled, models.GetAppointmentResponse)
        assert moved.id == created.id
        assert moved.start == later and moved.end == later + timedelta(hours=1)
        assert moved.duration == "PT1H" and moved.timezone == "UTC"
        assert moved.title == created.title and moved.version == created.version + 1


async def test_the_python_client_lists_with_paging_sorting_and_filters(
    python_client: PythonClient, auth: TokenFactory
) -> None:
    models = python_client.models
    find = python_client.operation("findAppointments")
    orders = [
        t
        for t in typing.get_args(typing.get_type_hints(find.asyncio_detailed)["sort_order"])
        if isinstance(t, type) and issubclass(t, Enum)
    ]
    assert orders, "sort_order is not an enum"
    order = orders[0]
    base, hour = _base(33), timedelta(hours=1)
    async with python_client.authenticated(auth(AGENT, sub="agent-lister")) as agent:
        first = await _schedule(python_client, agent, base, title="First")
        second = await _schedule(python_client, agent, base + hour, title="Second")
        third = await _schedule(python_client, agent, base + 2 * hour, title="Third", duration="PT45M")

        async def titles(**query: Any) -> tuple[Any, list[str]]:
            page = _ok(
                await find.asyncio_detailed(client=agent, **query), models.FindAppointmentsResponsePaged
            )
            return page, [item.title for item in page.content]

        page, shown = await titles(page_size=2, page_number=1, sort_order=order("desc"))
        assert shown == ["Third", "Second"]
        assert (page.page_size, page.page_number, page.page_count, page.total) == (2, 1, 2, 3)
        assert page.sort_order == "desc"
        assert page.content[0] == third

        page, shown = await titles(page_size=2, page_number=2, sort_order=order("desc"))
        assert shown == ["First"] and page.page_number == 2 and page.total == 3
        assert page.content[0] == first

        page, shown = await titles(sort_order=order("asc"))
        assert shown == ["First", "Second", "Third"] and page.sort_order == "asc"

        page, shown = await titles(duration=["PT45M"])
        assert shown == ["Third"] and page.total == 1

        # From the start of the first half hour on, up to (not including) the third's start.
        page, shown = await titles(range_=[base + hour / 2, base + 2 * hour])
        assert shown == ["Second"] and page.total == 1
        assert page.content[0] == second


async def test_the_public_counts_with_an_anonymous_python_client(
    python_client: PythonClient, auth: TokenFactory, application_id: str
) -> None:
    models = python_client.models
    base, hour = _base(35), timedelta(hours=1)
    async with python_client.authenticated(auth(AGENT, sub="agent-counted")) as agent:
        for start in (base, base, base + hour):
            await _schedule(python_client, agent, start)

    async with python_client.anonymous() as anonymous:
        refused = await python_client.operation("scheduleAppointment").asyncio_detailed(
            client=anonymous,
            body=models.ScheduleAppointmentRequest(start=base, duration="PT5M", timezone="UTC"),
        )
        assert refused.status_code == 401 and isinstance(refused.parsed, models.ErrorBody)

        counted = await python_client.operation("countAppointments").asyncio_detailed(
            client=anonymous, application_id=application_id, start=base, time_frame="PT2H"
        )
        assert counted.status_code == 200, counted.content
        slots = counted.parsed
        assert all(isinstance(slot, models.AppointmentCountResponse) for slot in slots), slots
        assert sorted((s.start, s.end, s.count, s.duration, s.timezone) for s in slots) == [
            (base, base + hour / 2, 2, "PT30M", "Europe/Berlin"),
            (base + hour, base + 1.5 * hour, 1, "PT30M", "Europe/Berlin"),
        ]

        overlap = python_client.operation("countOverlappingAppointments")
        for start, duration, count in (
            (base + hour / 4, "PT1H", 3),
            (base + hour / 2, "PT30M", 0),
            (base - hour, "PT3H", 3),
        ):
            response = await overlap.asyncio_detailed(
                client=anonymous, application_id=application_id, start=start, duration=duration
            )
            assert _ok(response, models.AppointmentOverlapResponse).count == count, (start, duration)


async def test_the_python_client_activates_and_downloads_the_ics(
    python_client: PythonClient, auth: TokenFactory
) -> None:
    models = python_client.models
    start = _base(37)
    async with python_client.authenticated(auth(AGENT)) as agent:
        created = await _schedule(python_client, agent, start, title="Calendar review", duration="PT45M")
    async with python_client.authenticated(auth(CLIENT_SERVICE)) as client_service:
        activated = await python_client.operation("activateAppointment").asyncio_detailed(
            client=client_service, id=created.id
        )
    room = _ok(activated, models.AppointmentActivationResponse)
    assert room.url.startswith("https://rooms.example.test") and room.expires > start

    async with python_client.anonymous() as anonymous:
        response = await python_client.operation("getIcalEvent").asyncio_detailed(
            client=anonymous, id=created.id, key=SERVICE_KEYS.calendar_token(created.id)
        )
    assert response.status_code == 200, response.content
    assert isinstance(response.parsed, str)
    event = icalendar.Calendar.from_ical(response.parsed).walk("VEVENT")[0]
    assert str(event["summary"]) == "Calendar review"
    assert event.decoded("dtstart") == created.start
    assert event.decoded("dtend") == created.end
    assert str(event["url"]) == room.url


# -- TypeScript --------------------------------------------------------------------------------

TSC_OPTIONS = ("--strict", "--target", "es2022", "--module", "commonjs", "--lib", "es2022,dom")


@dataclass(frozen=True)
class TypeScriptProject:
    directory: Path
    tools: Path
    generated: Run


@pytest.fixture(scope="module")
async def typescript(
    document: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TypeScriptProject]:
    tools = await typescript_tools()
    if isinstance(tools, str):
        pytest.skip(tools)
    directory = tmp_path_factory.mktemp("typescript-client")
    shutil.copy(document, directory / "openapi.json")
    shutil.copy(TYPED_CLIENT, directory / "client.ts")
    generated = await run(
        str(tools / "openapi-typescript"), "openapi.json", "--output", "api.d.ts", cwd=directory
    )
    yield TypeScriptProject(directory=directory, tools=tools, generated=generated)


def test_openapi_typescript_reads_the_document_without_a_warning(typescript: TypeScriptProject) -> None:
    assert typescript.generated.returncode == 0, str(typescript.generated)
    assert complaints(typescript.generated.output) == [], str(typescript.generated)


async def test_the_typed_typescript_client_compiles_strictly(typescript: TypeScriptProject) -> None:
    assert typescript.generated.returncode == 0, str(typescript.generated)
    checked = await run(
        str(typescript.tools / "tsc"), "--noEmit", *TSC_OPTIONS, "client.ts", cwd=typescript.directory
    )
    assert checked.returncode == 0, str(checked)


async def test_the_typed_typescript_client_runs_against_the_api(
    typescript: TypeScriptProject, stack: Stack, auth: TokenFactory, application_id: str
) -> None:
    assert typescript.generated.returncode == 0, str(typescript.generated)
    compiled = await run(
        str(typescript.tools / "tsc"),
        *TSC_OPTIONS,
        "--noEmitOnError",
        "--outDir",
        "out",
        "client.ts",
        cwd=typescript.directory,
    )
    assert compiled.returncode == 0, str(compiled)
    node = shutil.which("node")
    assert node is not None
    start = _base(39)
    ran = await run(
        node,
        "out/client.js",
        stack.base_url,
        _token(auth(AGENT, sub="agent-typescript")),
        application_id,
        iso(start),
        cwd=typescript.directory,
        time_limit=60,
    )
    assert ran.returncode == 0, str(ran)
    result = json.loads(ran.output.strip().splitlines()[-1])

    created = result["created"]
    assert (
        created["title"] == "Scheduled from TypeScript" and created["notes"] == "typed by openapi-typescript"
    )
    assert created["metadata"] == {"client": "typescript"} and created["applicationId"] == application_id
    assert created["start"] == iso(start) and created["end"] == iso(start + timedelta(minutes=45))
    assert created["organizer"] == {"id": "agent-typescript", "type": "AGENT"}
    assert result["fetched"] == created
    page = result["page"]
    assert (page["pageSize"], page["pageNumber"], page["sortOrder"], page["total"]) == (10, 1, "desc", 1)
    assert page["content"] == [created]
    assert result["counts"] == [
        {
            "count": 1,
            "duration": "PT45M",
            "start": iso(start),
            "end": iso(start + timedelta(minutes=45)),
            "timezone": "Europe/Berlin",
        }
    ]
    assert result["overlap"] == {"count": 1}

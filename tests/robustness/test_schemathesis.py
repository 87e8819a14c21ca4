"""Schemathesis against the live stack's own OpenAPI document, with valid tokens.

One Schemathesis run per token, as `schemathesis run` would do it, through all its phases: the
document's examples, coverage (boundary values, missing and wrong-typed parameters, undeclared
methods), fuzzing (generated requests per operation, schema-valid and schema-invalid) and
stateful sequences. A token holding every staff role gets past the role rules of every operation,
so its run, `STAFF_EXAMPLES` requests per operation, reaches the handlers; a token of each single
role (agent, supervisor, client service, customer, admin) then checks the role rules with
`ROLE_EXAMPLES`, without the coverage phase: its boundary values of every body field are the staff
run's to try, and against a role rule they would only be refused again, at length (the settings'
templates alone took a hundred seconds a run). Every response is checked:

- `not_a_server_error`: no 5xx;
- `status_code_conformance`, `content_type_conformance`, `response_schema_conformance`,
  `response_headers_conformance`: the status is one the document lists for the operation, and
  the Content-Type, the body and the headers are what the document says for it;
- `negative_data_rejection`: a request that breaks the schema is refused with a 4xx;
- `ignored_auth`, `missing_required_header`: an operation that declares credentials refuses
  requests without them.

Not enabled: `positive_data_acceptance` (the document types what it can: UUID ids, date-times,
duration patterns, enums, bounds; but a schema-valid start may be in year 1 or 9999, and a time zone
is any string, which the API rightly refuses; `python -m bench.document_acceptance` measures how
much of what a generator makes gets past validation) and `unsupported_method` (a 405 carries no
`Allow` header yet: see docs/robustness.md).

Reproducible: generation is deterministic (derandomized Hypothesis, no example database, no
Schemathesis cache).
Failures of all roles are collected and reported together.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from schemathesis.engine import Status, from_schema
from schemathesis.engine.events import EngineFinished, FatalError, NonFatalError, ScenarioFinished

from api.auth.tokens import mint_token
from domain.access import Role
from tests.api.conftest import JWT_SECRET, Stack

STAFF_EXAMPLES = 100
ROLE_EXAMPLES = 10
STAFF = (Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.ADMIN)
ROLES = (Role.AGENT, Role.SUPERVISOR, Role.CLIENT_SERVICE, Role.CUSTOMER, Role.ADMIN)
# The runs: their name, the roles of their token, and how many requests per operation they generate.
RUNS = (
    ("staff", STAFF, STAFF_EXAMPLES),
    *((role.value, (role,), ROLE_EXAMPLES) for role in ROLES),
)
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
    "ignored_auth",
    "missing_required_header",
)


@dataclass
class Report:
    operations: set[str] = field(default_factory=set)
    requests: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def summary(self) -> str:
        return (
            f"{len(self.operations)} operations, {self.requests.total()} requests "
            f"({dict(self.requests)}) in {self.seconds:.0f} s; "
            f"statuses {dict(sorted(self.statuses.items()))}; "
            f"{len(self.failures)} failures, {len(self.errors)} errors"
        )

    def details(self) -> str:
        failures = [
            f"== {where}: {title}\n{detail}" for (where, title), detail in sorted(self.failures.items())
        ]
        return "\n\n".join([self.summary(), *failures, *self.errors])


def _config(base_url: str, token: str, examples: int, coverage: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            # No crash cache in the work tree: every run starts from the same state.
            "cache": {"enabled": False},
            "headers": {"Authorization": f"Bearer {token}"},
            "request-timeout": 60,
            "generation": {"mode": "all", "max-examples": examples, "deterministic": True},
            "phases": {"coverage": {"enabled": coverage}},
            "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
        }
    )


def _token(roles: tuple[Role, ...], application_id: str) -> str:
    return mint_token(
        JWT_SECRET,
        sub=str(uuid.uuid4()),
        roles=[role.value for role in roles],
        application_id=application_id,
        # Customers' tokens are for one conference (appointment).
        conference_id=str(uuid.uuid4()) if Role.CUSTOMER in roles else None,
    )


def _record(event: ScenarioFinished, run: str, report: Report) -> None:
    recorder = event.recorder
    report.operations.add(recorder.label)
    for interaction in recorder.interactions.values():
        report.requests[run] += 1
        if interaction.response is not None:
            report.statuses[interaction.response.status_code] += 1
    for checks in recorder.checks.values():
        for check in checks:
            if check.status == Status.FAILURE and check.failure_info is not None:
                failure = check.failure_info.failure
                detail = f"[{run}, {event.phase.value}] {failure.message}\n{check.failure_info.code_sample}"
                report.failures.setdefault((recorder.label, f"{check.name}: {failure.title}"), detail)


def _run(document: dict[str, Any], base_url: str, application_id: str) -> Report:
    report = Report()
    started = time.monotonic()
    for run, roles, examples in RUNS:
        schema = schemathesis.openapi.from_dict(
            document,
            config=_config(base_url, _token(roles, application_id), examples, coverage=run == "staff"),
        )
        for event in from_schema(schema).execute():
            if isinstance(event, ScenarioFinished):
                _record(event, run, report)
            elif isinstance(event, NonFatalError):
                report.errors.append(f"[{run}] {event.label}: {event.value!r}")
            elif isinstance(event, FatalError):
                raise event.exception
            elif isinstance(event, EngineFinished):
                report.failures.update(
                    {(f"after run, {run}", failure.title): failure.message for failure in event.failures}
                )
    report.seconds = time.monotonic() - started
    return report


async def test_schemathesis_finds_no_server_error_and_no_undocumented_response(
    stack: Stack, http: httpx.AsyncClient, application_id: str
) -> None:
    document = (await http.get("/schema/openapi.json")).json()
    # The stack serves from this event loop: the synchronous run must not block it.
    report = await asyncio.to_thread(_run, document, stack.base_url, application_id)
    print(f"\nschemathesis: {report.summary()}")
    documented = {
        f"{method.upper()} {path}"
        for path, methods in document["paths"].items()
        for method in methods
        if method in ("get", "put", "post", "delete", "patch")
    }
    assert documented <= report.operations, documented - report.operations
    assert not report.failures and not report.errors, report.details()

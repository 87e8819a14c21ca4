"""The rate limits with their default values, on two API replicas sharing one PostgreSQL.

Each test plays one client (its own address, forwarded by the trusted proxy that 127.0.0.1 is
for uvicorn), one set of mailboxes and one application, so that tests never count against each
other; the limits themselves are those of domain.rate_limits, unchanged.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from devstack.net import free_port
from devstack.smtp_sink import SmtpSink
from domain.access import Role
from domain.rate_limits import (
    ADMIN_MAIL_PER_APPLICATION,
    ADMIN_MAIL_PER_MAILBOX,
    BASIC_LOGIN_PER_CLIENT,
    OTP_PER_APPLICATION,
    OTP_PER_CLIENT,
    OTP_PER_MAILBOX,
    PUBLIC_READS,
)
from tests.api.conftest import TokenFactory
from tests.api.test_customer_scheduling import allow_self_scheduling
from tests.support.limits import client_network, within_one_window
from tests.support.requests import schedule_body
from tests.support.secrets import session_settings
from tests.support.serving import running_service

OTP = "/api/appointments/basic/otp"


@dataclass(frozen=True)
class Replicas:
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient]

    def round_robin(self) -> itertools.cycle[httpx.AsyncClient]:
        return itertools.cycle(self.clients)


@pytest.fixture(scope="module")
async def replicas(
    dev_server: WorkflowEnvironment, database_url: str, engine: AsyncEngine, mail_sink: SmtpSink
) -> AsyncIterator[Replicas]:
    """Two API processes' worth of apps (each with its worker), default limits, one database."""
    queue = f"limits-{uuid.uuid4()}"
    async with AsyncExitStack() as stack:
        clients = []
        for replica in range(2):
            settings = session_settings(
                {
                    "DATABASE_URL": database_url,
                    "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
                    "TEMPORAL_TASK_QUEUE": queue,
                    "HTTP_PORT": str(free_port()),
                    "SMTP_HOST": "127.0.0.1",
                    "SMTP_PORT": str(mail_sink.port),
                }
            )
            service = running_service(dev_server.client, settings, engine, with_worker=replica == 0)
            base_url = await stack.enter_async_context(service)
            clients.append(await stack.enter_async_context(httpx.AsyncClient(base_url=base_url, timeout=30)))
        yield Replicas(clients=(clients[0], clients[1]))


@pytest.fixture
def client_address() -> dict[str, str]:
    """This test's client, as the proxy in front of the API forwards it."""
    return {"X-Forwarded-For": f"{client_network()}::1"}


@pytest.fixture
async def open_application(http: httpx.AsyncClient, auth: TokenFactory, application_id: str) -> str:
    """The test's application, letting customers schedule themselves."""
    await allow_self_scheduling(http, auth, application_id)
    return application_id


def _mailbox() -> str:
    return f"flood{uuid.uuid4().hex[:10]}"


async def test_public_reads_are_limited_per_client_across_replicas(
    replicas: Replicas, client_address: dict[str, str], application_id: str
) -> None:
    await within_one_window(PUBLIC_READS)
    params = {"applicationId": application_id, "start": "2030-01-01T00:00:00Z", "timeFrame": "PT1H"}
    apis = replicas.round_robin()
    statuses = [
        (await next(apis).get("/api/appointments/count", params=params, headers=client_address)).status_code
        for _ in range(PUBLIC_READS.requests)
    ]
    assert statuses == [200] * PUBLIC_READS.requests
    over = await next(apis).get(
        "/api/appointments/overlap/count", params={**params, "duration": "PT1H"}, headers=client_address
    )
    assert over.status_code == 429, over.text
    assert 1 <= int(over.headers["retry-after"]) <= 60
    assert over.json()["status"] == 429 and "public-read" in over.json()["message"]
    calendar = await next(apis).get(f"/api/cal/events/ical/{uuid.uuid4()}/event", headers=client_address)
    assert calendar.status_code == 429
    # Another client is not held back by this one.
    other = {"X-Forwarded-For": f"{client_network()}::1"}
    assert (await next(apis).get("/api/appointments/count", params=params, headers=other)).status_code == 200


async def test_ipv6_clients_count_by_their_64(replicas: Replicas, application_id: str) -> None:
    await within_one_window(PUBLIC_READS)
    params = {"applicationId": application_id, "start": "2030-01-01T00:00:00Z", "duration": "PT1H"}
    prefix = client_network()
    apis = replicas.round_robin()
    for n in range(PUBLIC_READS.requests):
        address = {"X-Forwarded-For": f"{prefix}::{n + 1:x}"}
        assert (
            await next(apis).get("/api/appointments/overlap/count", params=params, headers=address)
        ).status_code == 200
    again = await next(apis).get(
        "/api/appointments/overlap/count", params=params, headers={"X-Forwarded-For": f"{prefix}:1:2:3:4"}
    )
    assert again.status_code == 429


async def test_one_mailbox_gets_few_codes_however_it_is_spelled_and_whatever_the_application(
    replicas: Replicas, http: httpx.AsyncClient, auth: TokenFactory, mail_sink: SmtpSink
) -> None:
    await within_one_window(OTP_PER_MAILBOX, OTP_PER_APPLICATION)
    applications = [str(uuid.uuid4()) for _ in range(3)]
    for application in applications:
        await allow_self_scheduling(http, auth, application)
    name = _mailbox()
    spellings = [
        f"{name}@gmail.com",
        f"{name.upper()}@GMAIL.COM",
        f" {name[:3]}.{name[3:]}@gmail.com ",
        f"{name}+otp@googlemail.com",
        f"{name}+{uuid.uuid4().hex[:4]}@gmail.com",
        f"{name[:2]}.{name[2:5]}.{name[5:]}+x@GMail.com",
    ]
    apis = replicas.round_robin()
    answers = []
    for n, spelling in enumerate(spellings):
        body = {"applicationId": applications[n % len(applications)], "email": spelling}
        # Each from another client: the mailbox's own limit is the one that holds.
        answers.append(
            await next(apis).post(OTP, json=body, headers={"X-Forwarded-For": f"{client_network()}::{n + 1}"})
        )
    statuses = [r.status_code for r in answers]
    assert statuses == [204] * OTP_PER_MAILBOX.requests + [429] * (len(spellings) - OTP_PER_MAILBOX.requests)
    assert "otp-mailbox" in answers[-1].json()["message"]
    assert answers[-1].headers["retry-after"]
    delivered = [
        m for m in mail_sink.messages() if name.lower() in str(m.message["To"]).replace(".", "").lower()
    ]
    assert len(delivered) == OTP_PER_MAILBOX.requests


async def test_one_client_gets_few_codes_whatever_the_mailboxes(
    replicas: Replicas, client_address: dict[str, str], open_application: str
) -> None:
    await within_one_window(OTP_PER_CLIENT, OTP_PER_APPLICATION)
    application_id = open_application
    apis = replicas.round_robin()
    statuses = []
    for _ in range(OTP_PER_CLIENT.requests + 2):
        body = {"applicationId": application_id, "email": f"{_mailbox()}@example.test"}
        statuses.append((await next(apis).post(OTP, json=body, headers=client_address)).status_code)
    assert statuses == [204] * OTP_PER_CLIENT.requests + [429, 429]


async def test_guessing_codes_is_limited_per_client(
    replicas: Replicas, client_address: dict[str, str], open_application: str
) -> None:
    await within_one_window(BASIC_LOGIN_PER_CLIENT)
    body = schedule_body(applicationId=open_application)
    apis = replicas.round_robin()
    statuses = set()
    for n in range(BASIC_LOGIN_PER_CLIENT.requests):
        credentials = httpx.BasicAuth(f"{_mailbox()}@example.test", f"{n:06d}")
        response = await next(apis).post(
            "/api/appointments/basic", json=body, headers=client_address, auth=credentials
        )
        statuses.add(response.status_code)
    assert statuses == {401}
    credentials = httpx.BasicAuth(f"{_mailbox()}@example.test", "000000")
    limited = await next(apis).post(
        "/api/appointments/basic", json=body, headers=client_address, auth=credentials
    )
    assert limited.status_code == 429


async def test_admin_mail_is_limited_per_recipient_and_per_application(
    replicas: Replicas, auth: TokenFactory, application_id: str
) -> None:
    await within_one_window(ADMIN_MAIL_PER_MAILBOX, ADMIN_MAIL_PER_APPLICATION)
    admin = auth(Role.ADMIN)
    apis = replicas.round_robin()
    victim = f"{_mailbox()}@example.test"
    verify = {"applicationId": application_id, "toEmail": victim}
    statuses = [
        (await next(apis).post("/api/notifications/emails/verify", json=verify, headers=admin)).status_code
        for _ in range(ADMIN_MAIL_PER_MAILBOX.requests + 1)
    ]
    assert statuses == [204] * ADMIN_MAIL_PER_MAILBOX.requests + [429]
    # Test emails to the same mailbox, spelled otherwise, count against it too.
    test_mail = {
        "applicationId": application_id,
        "toEmail": victim.upper(),
        "type": "CREATE",
        "subject": "Hello",
        "textBody": "Hi {{firstName}}",
    }
    assert (
        await next(apis).post("/api/notifications/emails/test", json=test_mail, headers=admin)
    ).status_code == 429
    # Other recipients of the same application, until the application's own limit. Every request
    # counted, the refused ones too: 12 so far.
    sent = 0
    for _ in range(ADMIN_MAIL_PER_APPLICATION.requests):
        other = {**test_mail, "toEmail": f"{_mailbox()}@example.test"}
        response = await next(apis).post("/api/notifications/emails/test", json=other, headers=admin)
        if response.status_code == 429:
            break
        assert response.status_code == 204, response.text
        sent += 1
    assert response.status_code == 429 and "admin-mail-application" in response.json()["message"]
    assert sent == ADMIN_MAIL_PER_APPLICATION.requests - (ADMIN_MAIL_PER_MAILBOX.requests + 2)


async def test_idempotency_holds_across_replicas(replicas: Replicas, auth: TokenFactory) -> None:
    agent = {**auth(Role.AGENT), "Idempotency-Key": f"replicas-{uuid.uuid4()}"}
    body = schedule_body()
    first, second = [
        await api.post("/api/appointments", json=body, headers=agent) for api in replicas.clients
    ]
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    changed = {**body, "title": "Another appointment"}
    refused = await replicas.clients[1].post("/api/appointments", json=changed, headers=agent)
    assert refused.status_code == 422 and refused.json()["field"] == "Idempotency-Key"

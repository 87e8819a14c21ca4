"""Traces over OTLP from the real processes: `appointments api` and `appointments worker` run as
subprocesses, configured only by the standard OpenTelemetry variables, against the session's
PostgreSQL, Temporal dev server and SMTP sink, and export to real OTLP receivers
(tests/support/otlp.py) over HTTP/protobuf and gRPC.

Each test's worker polls a task queue of its own, so the session's in-process worker never takes
its tasks.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from devstack.net import free_port
from devstack.smtp_sink import SmtpSink
from domain.access import Role
from domain.activity_names import POST_WEBHOOK, RECORD_CHANGE, SEND_MESSAGE
from domain.commands import SCHEDULE
from domain.rate_limits import ALL_LIMITS
from tests.api.conftest import TokenFactory
from tests.api.test_notification_flow import _about, _configure
from tests.api.test_webhook_delivery import _subscribe
from tests.support.otlp import CLIENT, SERVER, ExportedSpan, OtlpGrpcReceiver, OtlpHttpReceiver, Spans
from tests.support.processes import ServiceProcess
from tests.support.receiver import Receiver
from tests.support.requests import schedule_body
from tests.support.secrets import TEST_SECRETS

STARTUP = 60.0
WORKFLOW = "AppointmentWorkflow"


@dataclass(frozen=True)
class Service:
    base_url: str
    api_log: Path
    worker_log: Path

    def log_lines(self, log: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


@asynccontextmanager
async def running_processes(
    tmp_path: Path,
    dev_server: WorkflowEnvironment,
    database_url: str,
    mail_sink: SmtpSink,
    otel: Mapping[str, str],
    *,
    api_env: Mapping[str, str] | None = None,
    worker_env: Mapping[str, str] | None = None,
) -> AsyncIterator[Service]:
    """The API and a worker as the real commands, with `otel` (and no other OTEL_* variable)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("OTEL_")},
        **TEST_SECRETS,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": database_url,
        "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": f"tracing-{uuid.uuid4()}",
        "HTTP_PORT": str(free_port()),
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(mail_sink.port),
        "WEBHOOKS_ALLOW_LOOPBACK": "true",
        "WORKER_METRICS_PORT": "0",
        "LOG_FORMAT": "json",
        "RATE_LIMITS": ",".join(f"{limit.name}=1000000" for limit in ALL_LIMITS),
        # Spans leave within a tenth of a second, not the default five.
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        **otel,
    }
    api = ServiceProcess("api", "api", {**env, **(api_env or {})}, tmp_path / "api.log")
    worker = ServiceProcess("worker", "worker", {**env, **(worker_env or {})}, tmp_path / "worker.log")
    try:
        for process in (worker, api):
            process.launch()
        await asyncio.gather(worker.wait_until_ready(STARTUP), api.wait_until_ready(STARTUP))
        yield Service(api.base_url, api.log_file, worker.log_file)
    finally:
        for process in (api, worker):
            process.stop()


@pytest.fixture
async def collector() -> AsyncIterator[OtlpHttpReceiver]:
    """A real OTLP/HTTP receiver, serving for the test."""
    receiver = OtlpHttpReceiver()
    stop = await receiver.start()
    try:
        yield receiver
    finally:
        await stop()


def _in(trace_id: str) -> Callable[[ExportedSpan], bool]:
    return lambda span: span.trace_id == trace_id


def _named(name: str, service: str | None = None) -> Callable[[ExportedSpan], bool]:
    return lambda span: span.name == name and (service is None or span.service == service)


async def _trace_of_post(spans: Spans, service: str = "appointments-api") -> ExportedSpan:
    return (await spans.wait_for(_named("POST /api/appointments", service)))[0]


def _traceparent_trace(received: Any) -> str:
    version, trace_id, _span_id, _flags = received.headers["traceparent"].split("-")
    assert version == "00"
    return trace_id


def _assert_logs_name(service: Service, trace_id: str, appointment_id: str) -> None:
    """JSON lines logged while a span is current name it; the others do not."""
    requests = [
        line
        for line in service.log_lines(service.api_log)
        if line["logger"] == "api.requests" and line.get("route") == "/api/appointments"
    ]
    assert requests[-1]["trace_id"] == trace_id and len(requests[-1]["span_id"]) == 16
    worker_lines = service.log_lines(service.worker_log)
    recorded_first = next(
        line
        for line in worker_lines
        if line.get("activity_type") == RECORD_CHANGE and line.get("appointment_id") == appointment_id
    )
    assert recorded_first["trace_id"] == trace_id
    started = [line for line in worker_lines if "polling" in line["message"]]
    assert started and "trace_id" not in started[0]


async def test_a_post_is_one_trace_and_a_reminder_its_own_linked_one(
    collector: OtlpHttpReceiver,
    tmp_path: Path,
    dev_server: WorkflowEnvironment,
    database_url: str,
    mail_sink: SmtpSink,
    auth: TokenFactory,
    application_id: str,
    receiver: Receiver,
) -> None:
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}
    async with (
        running_processes(tmp_path, dev_server, database_url, mail_sink, otel) as service,
        httpx.AsyncClient(base_url=service.base_url, timeout=30) as http,
    ):
        await _configure(http, mail_sink, auth, application_id)  # a CREATE mail, a 1-minute reminder
        await _subscribe(
            http, auth, application_id, receiver.url("/hook"), ["APPOINTMENT_CREATED", "REMINDER_SENT"]
        )
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=64)
        created = await http.post(
            "/api/appointments", json=schedule_body(start=start), headers=auth(Role.AGENT)
        )
        assert created.status_code == 200, created.text
        appointment_id = created.json()["id"]

        server = await _trace_of_post(collector)
        assert server.kind == SERVER and server.parent_span_id == ""
        assert server.attributes["http.route"] == "/api/appointments"
        trace = _in(server.trace_id)
        # The Temporal client's call is the server span's child, in the API's process.
        client = (
            await collector.wait_for(
                lambda s: trace(s) and s.name == f"StartUpdateWithStartWorkflow:{WORKFLOW}"
            )
        )[0]
        assert client.parent_span_id == server.span_id and client.kind == CLIENT
        assert client.service == "appointments-api"
        # The worker's part: the Update's handling, its activities, the SMTP send, the webhook POST.
        worker_side = (
            f"HandleUpdate:{SCHEDULE.name}",
            f"RunActivity:{SEND_MESSAGE}",
            "smtp send",
            f"RunActivity:{POST_WEBHOOK}",
            "POST",
        )
        for name in worker_side:
            found = await collector.wait_for(lambda s, name=name: trace(s) and s.name == name)
            assert {s.service for s in found} == {"appointments-worker"}, name
        smtp = collector.where(lambda s: trace(s) and s.name == "smtp send")[0]
        assert smtp.kind == CLIENT and set(smtp.attributes) == {"server.address", "server.port"}
        post = collector.where(lambda s: trace(s) and s.name == "POST")[0]
        assert post.kind == CLIENT and post.attributes["http.response.status_code"] == 200

        # The receiver was told the trace, by the POST's own span.
        hook = (await receiver.wait_for("/hook", 1))[0]
        assert json.loads(hook.body)["type"] == "APPOINTMENT_CREATED"
        assert hook.headers["traceparent"].startswith(f"00-{server.trace_id}-{post.span_id}-")

        # The reminder, when its timer fires: a trace of its own, linked to the appointment's.
        await mail_sink.wait_for_messages(_about(appointment_id, "Soon"), timeout=30)
        timer = (await collector.wait_for(_named(f"Timer:{SEND_MESSAGE}", "appointments-worker")))[0]
        assert timer.trace_id != server.trace_id and timer.parent_span_id == ""
        assert [trace_id for trace_id, _ in timer.links] == [server.trace_id]
        reminder = _in(timer.trace_id)
        run = (await collector.wait_for(lambda s: reminder(s) and s.name == f"RunActivity:{SEND_MESSAGE}"))[0]
        assert run.parent_span_id == timer.span_id
        await collector.wait_for(lambda s: reminder(s) and s.name == "smtp send")
        reminder_hook = (await receiver.wait_for("/hook", 2))[1]
        assert json.loads(reminder_hook.body)["type"] == "REMINDER_SENT"
        posted = (await collector.wait_for(_named(f"Timer:{POST_WEBHOOK}")))[0]
        assert _traceparent_trace(reminder_hook) == posted.trace_id
        recorded = (await collector.wait_for(_named(f"Timer:{RECORD_CHANGE}")))[0]
        for root in (posted, recorded):
            assert [trace_id for trace_id, _ in root.links] == [server.trace_id]
            assert root.trace_id not in (server.trace_id, timer.trace_id)

        _assert_logs_name(service, server.trace_id, appointment_id)


async def test_grpc_export_with_the_services_named_by_the_variables(
    tmp_path: Path,
    dev_server: WorkflowEnvironment,
    database_url: str,
    mail_sink: SmtpSink,
    auth: TokenFactory,
) -> None:
    """Over gRPC, with OTEL_SERVICE_NAME (API) and OTEL_RESOURCE_ATTRIBUTES (worker) naming the
    services, and the worker running its workflows in the SDK's sandbox."""
    collector = OtlpGrpcReceiver()
    stop = await collector.start()
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    try:
        async with (
            running_processes(
                tmp_path,
                dev_server,
                database_url,
                mail_sink,
                otel,
                api_env={"OTEL_SERVICE_NAME": "front-desk"},
                worker_env={
                    "OTEL_RESOURCE_ATTRIBUTES": "service.name=back-office,deployment.environment=test",
                    "WORKER_WORKFLOW_SANDBOX": "true",
                },
            ) as service,
            httpx.AsyncClient(base_url=service.base_url, timeout=30) as http,
        ):
            created = await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))
            assert created.status_code == 200, created.text
            server = await _trace_of_post(collector, "front-desk")
            trace = _in(server.trace_id)
            handled = await collector.wait_for(
                lambda s: trace(s) and s.name == f"HandleUpdate:{SCHEDULE.name}"
            )
            recorded = await collector.wait_for(lambda s: trace(s) and s.name.startswith("RunActivity:"))
            assert {s.service for s in handled + recorded} == {"back-office"}
            assert not collector.where(lambda s: s.service.startswith("appointments-"))
    finally:
        await stop()


@pytest.mark.parametrize("disabled", [False, True], ids=["unset", "sdk-disabled"])
async def test_nothing_is_exported_or_propagated_when_tracing_is_off(
    disabled: bool,
    collector: OtlpHttpReceiver,
    tmp_path: Path,
    dev_server: WorkflowEnvironment,
    database_url: str,
    mail_sink: SmtpSink,
    auth: TokenFactory,
    application_id: str,
    receiver: Receiver,
) -> None:
    """No OTEL_* variable at all; or OTEL_SDK_DISABLED, which wins over an endpoint that is set."""
    otel = (
        {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint, "OTEL_SDK_DISABLED": "true"} if disabled else {}
    )
    async with (
        running_processes(tmp_path, dev_server, database_url, mail_sink, otel) as service,
        httpx.AsyncClient(base_url=service.base_url, timeout=30) as http,
    ):
        await _subscribe(http, auth, application_id, receiver.url("/hook"), ["APPOINTMENT_CREATED"])
        created = await http.post("/api/appointments", json=schedule_body(), headers=auth(Role.AGENT))
        assert created.status_code == 200, created.text
        hook = (await receiver.wait_for("/hook", 1))[0]
        assert "traceparent" not in hook.headers
        lines = service.log_lines(service.api_log) + service.log_lines(service.worker_log)
        assert lines and not [line for line in lines if "trace_id" in line or "span_id" in line]
    # The processes have stopped: whatever they had queued would have been sent by now.
    assert collector.requests == 0


async def test_a_dead_collector_fails_and_holds_up_no_request(
    tmp_path: Path,
    dev_server: WorkflowEnvironment,
    database_url: str,
    mail_sink: SmtpSink,
    auth: TokenFactory,
    application_id: str,
    receiver: Receiver,
) -> None:
    """Nothing listens at the endpoint: spans are dropped, requests and deliveries go on."""
    otel = {"OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}"}
    async with (
        running_processes(tmp_path, dev_server, database_url, mail_sink, otel) as service,
        httpx.AsyncClient(base_url=service.base_url, timeout=30) as http,
    ):
        await _subscribe(http, auth, application_id, receiver.url("/hook"), ["APPOINTMENT_CREATED"])
        agent = auth(Role.AGENT)
        for _ in range(3):
            created = await http.post("/api/appointments", json=schedule_body(), headers=agent)
            assert created.status_code == 200, created.text
            read = await http.get(f"/api/appointments/{created.json()['id']}", headers=agent)
            assert read.status_code == 200
        hooks = await receiver.wait_for("/hook", 3)
        # Traced all the same: the context travels even when no span can be exported.
        assert all(hook.headers["traceparent"].startswith("00-") for hook in hooks)

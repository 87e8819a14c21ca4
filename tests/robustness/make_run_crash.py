"""By hand, not part of the suite: `make run` survives `kill -9 -<pgid>` of its whole process group
and a restart on the same DATA_DIR, with nothing lost, nothing duplicated, no reminder late.

    .venv/bin/python -m tests.robustness.make_run_crash          # KILL_AT=23.03 to vary the moment

Starts `make -o .venv/.installed run` (the `run` recipe without reinstalling the venv) in a session
of its own, on a temp DATA_DIR and free ports (HTTP_PORT, TEMPORAL_PORT, TEMPORAL_UI_PORT,
SMTP_PORT, WORKER_METRICS_PORT). Through the API it configures the demo application (CREATE and
PT1M REMINDER templates, email verified with the code from the mail directory) and schedules six
appointments whose reminders fall due 20-35 s later; at T0+KILL_AT it SIGKILLs the process group
(PostgreSQL, a daemon by design, survives), starts `make run` again on the same DATA_DIR, and
checks what tests/robustness/test_crash_recovery.py checks. Finally it stops the stack with
SIGTERM to the group, shows whatever is left (`pgrep -af`) and stops a leftover postmaster.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import text

from api.auth.tokens import mint_token
from config import Settings
from config.secrets import development_secrets
from config.settings import to_sqlalchemy_url
from devstack.banner import DEMO_APPLICATION_ID, DEMO_SUBJECTS
from devstack.net import free_port
from devstack.postgres import EmbeddedPostgres
from devstack.smtp_sink import StoredMessage, read_messages
from storage.appointments import AppointmentStore
from storage.database import create_engine
from temporal_access.client import connect
from workflows.appointment import AppointmentWorkflow, workflow_id

ROOT = Path(__file__).resolve().parents[2]
DUE = (20, 23, 26, 29, 32, 35)  # seconds after T0
KILL_AT = float(os.environ.get("KILL_AT", "26.05"))
PORT_NAMES = (
    "HTTP_PORT",
    "TEMPORAL_PORT",
    "TEMPORAL_UI_PORT",
    "SMTP_PORT",
    "WORKER_METRICS_PORT",
    "API_METRICS_PORT",
)


def log(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S.%f}] {message}", flush=True)


def headers(stack: MakeRun, role: str) -> dict[str, str]:
    """A demo token of `role`, signed with the secret `make run` generated for the stack's DATA_DIR."""
    secret = development_secrets(stack.data_dir)["JWT_SECRET"]
    jwt = mint_token(secret, sub=DEMO_SUBJECTS[role], roles=[role], application_id=DEMO_APPLICATION_ID)
    return {"Authorization": f"Bearer {jwt}"}


class MakeRun:
    def __init__(self) -> None:
        self.data_dir = Path(tempfile.mkdtemp(prefix="make-run-crash-"))
        self.ports = {name: str(free_port()) for name in PORT_NAMES}
        self.env = {**os.environ, "DATA_DIR": str(self.data_dir), **self.ports}
        for name in ("DATABASE_URL", "TEMPORAL_ADDRESS", "SMTP_HOST"):
            self.env.pop(name, None)
        self.base_url = f"http://127.0.0.1:{self.ports['HTTP_PORT']}"
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> None:
        self.runs += 1
        output = self.data_dir / f"make-run-{self.runs}.log"
        with output.open("wb") as out:
            self.process = subprocess.Popen(
                ["make", "-o", ".venv/.installed", "run"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, to kill as a whole
            )
        began = time.monotonic()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(output.read_text()[-3000:])
            try:
                with opener.open(f"{self.base_url}/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - began > 180:
                raise TimeoutError(f"not healthy after 180 s, see {output}")
            time.sleep(0.2)
        log(f"make run #{self.runs} healthy after {time.monotonic() - began:.1f} s (pgid {self.process.pid})")

    def signal_group(self, signum: signal.Signals) -> int:
        assert self.process is not None
        began = time.monotonic()
        os.killpg(self.process.pid, signum)
        code = self.process.wait(60)
        took = time.monotonic() - began
        log(f"{signum.name} to group {self.process.pid}: make exited {code} after {took:.1f} s")
        return code

    def left_running(self) -> str:
        pattern = "|".join([re.escape(str(self.data_dir)), *self.ports.values()])
        found = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True, check=False)
        return found.stdout.strip()

    def mail(self, kind: str | None = None) -> list[StoredMessage]:
        return [
            m
            for m in read_messages(self.data_dir / "mail")
            if m.message["X-Appointment-Id"] and kind in (None, m.message["X-Notification-Type"])
        ]


async def configure(http: httpx.AsyncClient, stack: MakeRun) -> None:
    admin = headers(stack, "ROLE_ADMIN")
    templates: list[dict[str, Any]] = [
        {"type": "CREATE", "channel": "EMAIL", "subject": "Booked {{title}}", "textBody": "{{time24}}"},
        {
            "type": "REMINDER",
            "channel": "EMAIL",
            "subject": "Soon {{title}}",
            "textBody": "{{time24}}",
            "period": "PT1M",
        },
    ]
    settings = {"notificationsActive": True, "templates": templates}
    put = await http.put(f"/api/applications/{DEMO_APPLICATION_ID}/settings", json=settings, headers=admin)
    assert put.status_code == 200, put.text
    verify = {"applicationId": DEMO_APPLICATION_ID, "toEmail": "admin@example.test"}
    sent = await http.post("/api/notifications/emails/verify", json=verify, headers=admin)
    assert sent.status_code == 204, sent.text
    for _ in range(100):
        codes = [m for m in read_messages(stack.data_dir / "mail") if "admin@" in str(m.message["To"])]
        if codes:
            break
        await asyncio.sleep(0.1)
    found = re.search(r"\b(\d{6})\b", codes[-1].message.get_body(("plain",)).get_content())
    assert found
    confirm = {"applicationId": DEMO_APPLICATION_ID, "code": found.group(1)}
    confirmed = await http.post("/api/notifications/emails/confirm", json=confirm, headers=admin)
    assert confirmed.status_code == 204, confirmed.text


async def schedule(http: httpx.AsyncClient, stack: MakeRun, t0: datetime) -> dict[str, tuple[datetime, str]]:
    """The appointments: id -> (reminder due, customer email)."""
    made = {}
    for n, due in enumerate(DUE):
        email = f"customer-{n}-{uuid.uuid4().hex[:6]}@example.test"
        start = t0 + timedelta(seconds=due + 60)
        body = {
            "customer": {"contact": {"primaryEmail": email}, "name": {"firstName": "Ann", "lastName": "Lee"}},
            "duration": "PT5M",
            "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timezone": "Europe/Berlin",
            "title": f"make run crash {n}",
        }
        key = {"Idempotency-Key": f"make-run-crash-{uuid.uuid4()}"}
        response = await http.post(
            "/api/appointments", json=body, headers={**headers(stack, "ROLE_AGENT"), **key}
        )
        assert response.status_code == 200, response.text
        made[response.json()["id"]] = (t0 + timedelta(seconds=due), email)
    return made


async def check(stack: MakeRun, made: dict[str, tuple[datetime, str]]) -> None:
    ids = list(made)
    deadline = max(due for due, _ in made.values()) + timedelta(seconds=75)
    while len(stack.mail("REMINDER")) < len(ids):
        if datetime.now(UTC) > deadline:
            break
        await asyncio.sleep(0.5)
    address = f"127.0.0.1:{stack.ports['TEMPORAL_PORT']}"
    settings = Settings.from_env(
        {**development_secrets(stack.data_dir), **stack.env, "TEMPORAL_ADDRESS": address}
    )
    client = await connect(settings)
    for _ in range(120):  # until nothing is in flight
        busy = 0
        for i in ids:
            raw = (await client.get_workflow_handle(workflow_id(i)).describe()).raw_description
            busy += len(raw.pending_activities) + raw.HasField("pending_workflow_task")
        if not busy:
            break
        await asyncio.sleep(0.5)

    messages = stack.mail()
    counts = Counter((m.message["X-Appointment-Id"], m.message["X-Notification-Type"]) for m in messages)
    assert counts == Counter({(i, kind): 1 for i in ids for kind in ("CREATE", "REMINDER")}), counts
    assert all(m.rcpt_tos == (made[str(m.message["X-Appointment-Id"])][1],) for m in messages)
    late = {
        str(m.message["X-Appointment-Id"]): datetime.fromtimestamp(m.path.stat().st_mtime, UTC)
        - made[str(m.message["X-Appointment-Id"])][0]
        for m in stack.mail("REMINDER")
    }
    seconds = [round(late[i].total_seconds(), 1) for i in ids]
    log(f"{len(messages)} mails, each exactly once; reminder lateness in s: {seconds}")
    assert max(late.values()) <= timedelta(minutes=1)

    engine = create_engine(to_sqlalchemy_url(EmbeddedPostgres(stack.data_dir / "postgres").start()))
    try:
        store = AppointmentStore(engine)
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
            for i in ids:
                read = await http.get(f"/api/appointments/{i}", headers=headers(stack, "ROLE_AGENT"))
                assert read.status_code == 200, read.text
                handle = client.get_workflow_handle(workflow_id(i))
                state = await handle.query(AppointmentWorkflow.appointment)
                assert await store.get(i) == state, i
        query = text(
            "SELECT type, status, count(*) FROM notification_log "
            "WHERE appointment_id = ANY(:ids) GROUP BY 1, 2"
        )
        async with engine.connect() as conn:
            rows = sorted(tuple(row) for row in (await conn.execute(query, {"ids": ids})).all())
    finally:
        await engine.dispose()
    assert rows == [("CREATE", "SENT", len(ids)), ("REMINDER", "SENT", len(ids))], rows
    log(f"GET 200 and read model == workflow for all {len(ids)}; notification_log {rows}")


async def prepare(stack: MakeRun) -> tuple[datetime, dict[str, tuple[datetime, str]]]:
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=60) as http:
        await configure(http, stack)
        t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
        return t0, await schedule(http, stack, t0)


def main() -> None:
    stack = MakeRun()
    log(f"DATA_DIR {stack.data_dir}, ports {stack.ports}")
    try:
        stack.start()
        t0, made = asyncio.run(prepare(stack))
        time.sleep(max((t0 + timedelta(seconds=KILL_AT) - datetime.now(UTC)).total_seconds(), 0))
        before = len(stack.mail("REMINDER"))
        stack.signal_group(signal.SIGKILL)
        log(f"at T0+{KILL_AT}: {before}/{len(made)} reminders were out")
        log(f"left running (PostgreSQL is expected):\n{stack.left_running()}")
        time.sleep(3)
        stack.start()
        asyncio.run(check(stack, made))
    finally:
        if stack.process is not None and stack.process.poll() is None:
            stack.signal_group(signal.SIGTERM)
        time.sleep(1)
        log(f"left running after SIGTERM: {stack.left_running() or 'nothing'}")
        EmbeddedPostgres(stack.data_dir / "postgres").stop()
        shutil.rmtree(stack.data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()

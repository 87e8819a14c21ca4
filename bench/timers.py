"""Timers at scale: reminders of many appointments falling due in the same minute.

    python -m bench.timers [--open 20000] [--due 6000] [--clients 16] [--cache N]

One stack (`make run`'s, in `.bench/timers`) whose mail goes to an SMTP server in this process,
which notes when each message arrives. An application with a REMINDER template (period PT30M)
gets `--open` appointments through the API: `--open - --due` start in a week (their workflows
stay open, waiting), then `--due` whose reminders fall due one by one across a single minute.
The benchmark reports whether each due reminder arrived exactly once, how late (arrival minus
due time: p50, p99, max), the worker's and Temporal's resident memory sampled every 0.2 s
throughout, their CPU in the minute, and the worker's garbage-collection pauses in it (from its
metrics endpoint).
"""

from __future__ import annotations

import argparse
import asyncio
import re
import threading
import time
import uuid
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.parser import BytesHeaderParser

import httpx
import psutil
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from bench.load import cpu_seconds
from bench.profiling import print_profiles, profiled
from bench.report import machine, percentile
from bench.stack import BENCH_DATA, Stack, running_stack
from bench.worker_metrics import gc_pauses_between, scrape_gc_pauses
from bench.write_path import schedule_body
from devstack.net import free_port

APPLICATION = "bench-timers"
PROFILES = BENCH_DATA / "profiles" / "timers"
REMINDER_PERIOD = timedelta(minutes=30)
# The minute in which reminders fall due starts this long after the last one is scheduled.
MARGIN = timedelta(seconds=20)
# After the last due time, how long to keep listening for late or repeated reminders.
LISTEN_AFTER = timedelta(seconds=45)
TEMPLATES = [
    {
        "type": "REMINDER",
        "channel": "EMAIL",
        "subject": "Reminder {{title}}",
        "textBody": "Your call starts at {{time24}}.",
        "period": "PT30M",
    }
]


@dataclass(frozen=True)
class Arrival:
    at: float
    appointment_id: str
    kind: str
    body: bytes


@dataclass
class MailClock:
    """SMTP handler noting the arrival time of every message."""

    arrivals: list[Arrival] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        now = time.time()
        content = envelope.original_content or b""
        headers = BytesHeaderParser().parsebytes(content)
        with self.lock:
            self.arrivals.append(
                Arrival(now, str(headers["X-Appointment-Id"]), str(headers["X-Notification-Type"]), content)
            )
        return "250 OK"

    def of_kind(self, kind: str) -> list[Arrival]:
        with self.lock:
            return [a for a in self.arrivals if a.kind == kind]


class MemorySampler:
    """The peak resident memory of each process, its children included (the Temporal CLI runs its
    server in one), and what the benchmark was doing at that moment."""

    def __init__(self, processes: dict[str, psutil.Process]) -> None:
        self.processes = processes
        self.peaks = dict.fromkeys(processes, 0)
        self.peak_labels = dict.fromkeys(processes, "")
        self.label = "starting"
        # The busiest second of each process, while `watch_cpu` is set (the minute of reminders).
        self.watch_cpu = False
        self.cpu_peaks = dict.fromkeys(processes, 0.0)
        self._task: asyncio.Task[None] | None = None

    async def run(self) -> None:
        last_cpu, last_at = cpu_seconds(self.processes), time.monotonic()
        while True:
            for name, process in self.processes.items():
                rss = _rss(process)
                if rss > self.peaks[name]:
                    self.peaks[name], self.peak_labels[name] = rss, self.label
            await asyncio.sleep(0.2)
            if time.monotonic() - last_at >= 1.0:
                cpu, at = cpu_seconds(self.processes), time.monotonic()
                if self.watch_cpu:
                    for name in self.processes:
                        share = (cpu[name] - last_cpu[name]) / (at - last_at)
                        self.cpu_peaks[name] = max(self.cpu_peaks[name], share)
                last_cpu, last_at = cpu, at

    def report(self) -> str:
        return "\n".join(
            f"  {name}: peak RSS {self.peaks[name] / 2**20:.0f} MiB (at: {self.peak_labels[name]}), "
            f"busiest second {self.cpu_peaks[name]:.0%} of a core"
            for name in self.processes
        )

    def start(self) -> None:
        self._task = asyncio.create_task(self.run())

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def _rss(process: psutil.Process) -> int:
    total = 0
    for p in [process, *process.children(recursive=True)]:
        try:
            total += p.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


async def configure(http: httpx.AsyncClient, stack: Stack, clock: MailClock) -> None:
    """The email verification a real administrator goes through, then the templates."""
    admin = {
        "Authorization": "Bearer "
        + stack.token(sub="admin", roles=["ROLE_ADMIN"], application_id=APPLICATION)
    }
    settings = {
        "notificationsActive": True,
        "mailFrom": "bench@example.test",
        "mailFromName": "Bench",
        "templates": TEMPLATES,
    }
    response = await http.post(
        "/api/notifications/emails/verify",
        json={"applicationId": APPLICATION, "toEmail": "admin@example.test"},
        headers=admin,
    )
    response.raise_for_status()
    for _ in range(100):
        with clock.lock:
            codes = [re.search(rb"\b(\d{6})\b", a.body) for a in clock.arrivals]
        found = [c.group(1).decode() for c in codes if c]
        if found:
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError("the verification code never arrived")
    response = await http.post(
        "/api/notifications/emails/confirm",
        json={"applicationId": APPLICATION, "code": found[-1]},
        headers=admin,
    )
    response.raise_for_status()
    # mailFrom must be of the verified address's domain.
    response = await http.put(f"/api/applications/{APPLICATION}/settings", json=settings, headers=admin)
    if response.is_error:
        raise RuntimeError(f"settings refused: {response.status_code} {response.text}")


async def schedule_all(
    http: httpx.AsyncClient, starts: list[datetime], clients: int, sampler: MemorySampler
) -> tuple[dict[str, datetime], float]:
    """Schedule an appointment at each start; returns id -> start and the rate achieved."""
    # One key per appointment: a request answered 503 ("may still apply") is safe to repeat.
    pending = [(start, str(uuid.uuid4())) for start in reversed(starts)]
    created: dict[str, datetime] = {}
    failures: list[str] = []

    async def client() -> None:
        while pending:
            start, key = pending.pop()
            response = await http.post(
                "/api/appointments/", json=schedule_body(start), headers={"Idempotency-Key": key}
            )
            if response.status_code != 200:
                pending.append((start, key))  # tried again: every appointment must exist
                failures.append(f"{response.status_code} {response.text[:200]}")
                continue
            created[response.json()["id"]] = start
            sampler.label = f"{len(created)} scheduled"

    began = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    if failures:
        print(f"  {len(failures)} failed requests, each tried again; first: {failures[0]}")
    return created, len(starts) / (time.monotonic() - began)


async def measure(
    stack: Stack, clock: MailClock, open_count: int, due_count: int, clients: int, profile: bool
) -> None:
    sampler = MemorySampler({"worker": stack.child("worker.py"), "temporal": stack.child("temporal")})
    sampler.start()
    agent = stack.token(sub="agent-1", roles=["ROLE_AGENT"], application_id=APPLICATION)
    async with stack.client(agent, clients) as http:
        await configure(http, stack, clock)
        week = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
        waiting = [week + timedelta(minutes=i % 5000) for i in range(open_count - due_count)]
        _, rate = await schedule_all(http, waiting, clients, sampler)
        print(f"scheduled {len(waiting)} appointments a week ahead at {rate:.1f}/s")
        # Leave time to schedule the due ones at the rate just seen, plus a margin.
        lead = timedelta(seconds=round(1.5 * due_count / rate)) + MARGIN
        first_due = datetime.now(UTC).replace(microsecond=0) + lead
        due_at = [first_due + timedelta(seconds=60 * i // due_count) for i in range(due_count)]
        created, rate = await schedule_all(http, [d + REMINDER_PERIOD for d in due_at], clients, sampler)
        print(
            f"scheduled {len(created)} appointments with reminders due from {first_due:%H:%M:%S} UTC "
            f"at {rate:.1f}/s"
        )
        if datetime.now(UTC) > first_due:
            print("  warning: scheduling ran into the minute the reminders fall due")
        sampler.label = f"{open_count} open, reminders due"
        await asyncio.sleep(max(0.0, (first_due - datetime.now(UTC)).total_seconds()))
        processes = stack.processes()
        before = cpu_seconds(processes)
        gc_before = scrape_gc_pauses(stack.settings.worker_metrics_port)
        sampler.watch_cpu = True
        with profiled(processes, PROFILES) if profile else nullcontext():
            await asyncio.sleep((due_at[-1] + LISTEN_AFTER - datetime.now(UTC)).total_seconds())
        sampler.watch_cpu = False
        after = cpu_seconds(processes)
        gc_after = scrape_gc_pauses(stack.settings.worker_metrics_port)
    sampler.stop()

    reminders = clock.of_kind("REMINDER")
    per_appointment = Counter(a.appointment_id for a in reminders)
    due_by_id = {appointment_id: start - REMINDER_PERIOD for appointment_id, start in created.items()}
    missing = [i for i in due_by_id if per_appointment[i] == 0]
    repeated = [i for i, n in per_appointment.items() if n > 1]
    unexpected = [i for i in per_appointment if i not in due_by_id]
    lateness = [
        a.at - due_by_id[a.appointment_id].timestamp() for a in reminders if a.appointment_id in due_by_id
    ]
    print()
    print(machine())
    print(
        f"reminders due: {len(due_by_id)}  delivered: {len(reminders)}  missing: {len(missing)}  "
        f"more than once: {len(repeated)}  not due but sent: {len(unexpected)}"
    )
    if lateness:
        print(
            f"lateness (arrival at SMTP - due): p50 {percentile(lateness, 0.5):.3f} s  "
            f"p99 {percentile(lateness, 0.99):.3f} s  max {max(lateness):.3f} s  min {min(lateness):.3f} s"
        )
    seconds = (due_at[-1] + LISTEN_AFTER - first_due).total_seconds()
    shares = ", ".join(f"{name} {(after[name] - before[name]) / seconds:.0%}" for name in processes)
    print(f"CPU from the first due time on (of one core): {shares}")
    print(gc_pauses_between(gc_before, gc_after))
    print(f"{open_count} open workflows:\n{sampler.report()}")
    if lateness:
        latest = max(
            (a for a in reminders if a.appointment_id in due_by_id),
            key=lambda a: a.at - due_by_id[a.appointment_id].timestamp(),
        )
        await print_timeline(stack, latest, due_by_id[latest.appointment_id])
    if profile:
        print_profiles(PROFILES)


async def print_timeline(stack: Stack, arrival: Arrival, due: datetime) -> None:
    """Where the latest reminder's time went: its workflow's events from the due time on."""
    temporal = await Client.connect(stack.temporal_address)
    history = await temporal.get_workflow_handle(f"appointment-{arrival.appointment_id}").fetch_history()
    print(f"\nthe latest reminder ({arrival.appointment_id}), seconds after its due time:")
    for event in history.events:
        at = event.event_time.ToDatetime(tzinfo=UTC)
        if at >= due - timedelta(seconds=1):
            name = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
            print(f"  {(at - due).total_seconds():8.3f}  {name}")
    print(f"  {arrival.at - due.timestamp():8.3f}  (message arrives at the SMTP server)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--open", type=int, default=20_000, help="open appointment workflows in all")
    parser.add_argument("--due", type=int, default=6_000, help="of which have a reminder due in the minute")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients scheduling")
    parser.add_argument(
        "--cache", type=int, help="the worker's WORKER_MAX_CACHED_WORKFLOWS (default: the service's default)"
    )
    parser.add_argument(
        "--profile", action="store_true", help=f"py-spy the stack in the due minute ({PROFILES})"
    )
    args = parser.parse_args()
    clock = MailClock()
    smtp = Controller(clock, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port)}
        if args.cache is not None:
            env["WORKER_MAX_CACHED_WORKFLOWS"] = str(args.cache)
        with running_stack("timers", env=env) as stack:
            asyncio.run(measure(stack, clock, args.open, args.due, args.clients, args.profile))
    finally:
        smtp.stop()


if __name__ == "__main__":
    main()

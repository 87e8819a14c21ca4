"""History bounds: what many changes to one appointment leave in Temporal, black-box through the API.

    python -m bench.history_bounds [--changes 600] [--live-receiver]

One stack (`make run`'s, in `.bench/history_bounds`). An application subscribes a webhook whose
receiver refuses connections (a loopback port nobody listens on; `--live-receiver` drops the
subscription), schedules one appointment and changes its title `--changes` times, one request after
the other, as a client would. Then it follows the appointment's runs along their continue-as-new
links and prints, for each: its events, the bytes of its history and its largest payload, and the
deliveries it started with.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import time
from datetime import UTC, datetime, timedelta

from temporalio.client import Client

from bench.report import machine
from bench.stack import Stack, running_stack
from bench.write_path import schedule_body
from config.secrets import development_secrets
from devstack.net import free_port
from temporal_access.client import data_converter_for
from tests.support.histories import runs

APPLICATION = "bench-history"


async def measure(stack: Stack, changes: int, dead_receiver: bool) -> None:
    agent = stack.token(sub="agent-1", roles=["ROLE_AGENT"], application_id=APPLICATION)
    admin = stack.token(sub="admin-1", roles=["ROLE_ADMIN"], application_id=APPLICATION)
    async with stack.client(admin, 1) as http:
        if dead_receiver:
            response = await http.post(
                f"/api/applications/{APPLICATION}/webhooks",
                json={"url": f"http://127.0.0.1:{free_port()}/dead", "events": ["*"], "secret": "s" * 32},
            )
            response.raise_for_status()
    async with stack.client(agent, 1) as http:
        start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
        created = await http.post("/api/appointments/", json=schedule_body(start))
        created.raise_for_status()
        appointment_id = created.json()["id"]
        began = time.perf_counter()
        for n in range(changes):
            changed = await http.put("/api/appointments", json={"id": appointment_id, "title": f"v{n}"})
            changed.raise_for_status()
        elapsed = time.perf_counter() - began
    print(f"{changes} changes in {elapsed:.1f} s ({changes / elapsed:.0f}/s), one after the other")

    secrets = development_secrets(stack.data_dir)
    settings = dataclasses.replace(
        stack.settings, payload_keys=secrets["PAYLOAD_KEYS"], payload_active_key=secrets["PAYLOAD_ACTIVE_KEY"]
    )
    temporal = await Client.connect(stack.temporal_address, data_converter=data_converter_for(settings))
    workflow_id = f"appointment-{appointment_id}"
    first = (await temporal.get_workflow_handle(workflow_id).describe()).raw_description
    first_run = first.workflow_execution_info.first_run_id
    found = await runs(temporal, workflow_id, first_run)
    print(f"{len(found)} runs; per run: events, history bytes, largest payload, deliveries handed in")
    sizes = [sum(event.ByteSize() for event in run.events) for run in found]
    for run, size in zip(found, sizes, strict=True):
        deliveries = len(run.started_with.deliveries)
        print(f"  {run.length:6d} {size:10,d} {run.largest_payload:9,d} {deliveries:5d}")
    print(f"largest run: {max(run.length for run in found)} events, {max(sizes):,} bytes")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=600)
    parser.add_argument("--live-receiver", action="store_true", help="no subscription at all")
    args = parser.parse_args()
    print(machine())
    with running_stack("history_bounds") as stack:
        asyncio.run(measure(stack, args.changes, dead_receiver=not args.live_receiver))


if __name__ == "__main__":
    main()

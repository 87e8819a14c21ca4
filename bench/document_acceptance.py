"""How much of what a generator makes from the OpenAPI document the API accepts.

A client generator, or a fuzzer, reads the document's types and constraints; the more faithfully
the document states what the API enforces, the more of its valid-looking requests get past
validation. This starts the stack as `make run` does (bench/stack.py), lets Schemathesis generate
schema-valid requests only (positive mode, deterministic) for every operation with a token holding
every staff role, and counts per operation the requests refused as invalid (400, 413, 422) against
those that got past validation (any other answer: 2xx, 404 for a random id, 409 for a state, 429,
...).

    python -m bench.document_acceptance [--examples 50]

Prints one line per operation and the operations where most generated requests were refused.
"""

from __future__ import annotations

import argparse
import uuid
from collections import Counter, defaultdict

import httpx
import schemathesis
from schemathesis.engine import from_schema
from schemathesis.engine.events import ScenarioFinished

from bench.report import machine
from bench.stack import running_stack

STAFF = ["ROLE_AGENT", "ROLE_SUPERVISOR", "ROLE_CLIENT_SERVICE", "ROLE_ADMIN"]
REFUSED_AS_INVALID = frozenset({400, 413, 422})


def measure(document: dict[str, object], base_url: str, token: str, examples: int) -> dict[str, Counter[int]]:
    config = schemathesis.Config.from_dict(
        {
            "base-url": base_url,
            "cache": {"enabled": False},
            "headers": {"Authorization": f"Bearer {token}"},
            "request-timeout": 60,
            "phases": {
                "examples": {"enabled": False},
                "coverage": {"enabled": False},
                "stateful": {"enabled": False},
            },
            "generation": {"mode": "positive", "max-examples": examples, "deterministic": True},
            "checks": {"enabled": False},
        }
    )
    statuses: dict[str, Counter[int]] = defaultdict(Counter)
    for event in from_schema(schemathesis.openapi.from_dict(document, config=config)).execute():
        if isinstance(event, ScenarioFinished):
            for interaction in event.recorder.interactions.values():
                if interaction.response is not None:
                    statuses[event.recorder.label][interaction.response.status_code] += 1
    return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=50, help="generated requests per operation")
    args = parser.parse_args()
    with running_stack("document-acceptance") as stack:
        application_id = str(uuid.uuid4())
        token = stack.token(sub=str(uuid.uuid4()), roles=STAFF, application_id=application_id)
        document = httpx.get(f"{stack.api_url}/schema/openapi.json", timeout=30).json()
        statuses = measure(document, stack.api_url, token, args.examples)
    print(machine())
    mostly_refused = []
    for label in sorted(statuses):
        counts = statuses[label]
        total = counts.total()
        refused = sum(n for status, n in counts.items() if status in REFUSED_AS_INVALID)
        print(f"{label:70s} {total:4d} requests, {refused / total:5.0%} refused as invalid  {dict(counts)}")
        if refused * 2 > total:
            mostly_refused.append(label)
    print(
        f"\n{len(mostly_refused)} of {len(statuses)} operations refused most generated requests as invalid:"
    )
    for label in mostly_refused:
        print(f"  {label}")


if __name__ == "__main__":
    main()

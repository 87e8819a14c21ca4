"""`docker-compose.yml` against the Compose Specification's own JSON schema.

The schema is a pinned copy, `tests/support/compose-spec.json`: `schema/compose-spec.json` of
github.com/compose-spec/compose-spec at commit 170098ba07d9f53c383a41bfd4c5166b0a4529a6
(2026-06-23). Replace it with a newer copy from the same place to follow the specification.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((ROOT / "tests/support/compose-spec.json").read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    problems = [
        f"{'/'.join(map(str, error.instance_path))}: {error.message}"
        for error in jsonschema_rs.validator_for(SCHEMA).iter_errors(compose)
    ]
    assert not problems, "\n".join(problems)


def test_the_schema_refuses_what_compose_would_refuse(compose: dict[str, Any]) -> None:
    """The check itself checks something: a misspelt key and a wrong type are caught."""
    broken = {
        **compose,
        "services": {**compose["services"], "api": {**compose["services"]["api"], "port": ["8000"]}},
    }
    assert not jsonschema_rs.validator_for(SCHEMA).is_valid(broken)
    broken = {
        **compose,
        "services": {**compose["services"], "api": {**compose["services"]["api"], "restart": 3}},
    }
    assert not jsonschema_rs.validator_for(SCHEMA).is_valid(broken)


def test_every_dependency_of_a_service_is_a_service(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        depends_on = service.get("depends_on", {})
        assert set(depends_on) <= set(services), (name, depends_on)

"""The real servers the tests talk to: PostgreSQL, Temporal and SMTP, started once per session.

No mocks: the embedded PostgreSQL wheel (or DATABASE_URL), the Temporal dev server and the
time-skipping test server from their wheels, and an aiosmtpd server.
"""

from __future__ import annotations

import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.converter import DataConverter

from temporal_access.client import data_converter_for
from tests.support.secrets import session_settings
from workflows.search import ALL_KEYS

BIN = Path(sys.executable).parent

# Production runs workflows without the SDK's sandbox (WORKER_WORKFLOW_SANDBOX); the workflow tests
# run them in it, so that a non-deterministic call in workflow code fails there (the worker-metrics
# test excepted: it runs the worker as production does, as the API tests do).
SANDBOXED = {"WORKER_WORKFLOW_SANDBOX": "true"}


def temporal_cli() -> str:
    return str(BIN / "temporal")


def temporal_test_server() -> str:
    return str(BIN / "temporal-test-server")


async def register_search_attributes(client: Client) -> None:
    """The time-skipping server knows no custom search attributes until told."""
    await client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=client.namespace,
            search_attributes={
                key.name: IndexedValueType.ValueType(key.indexed_value_type.value) for key in ALL_KEYS
            },
        )
    )


def service_data_converter() -> DataConverter:
    """What the service of the test session uses: msgspec, encrypted with the session's keys."""
    return data_converter_for(session_settings())

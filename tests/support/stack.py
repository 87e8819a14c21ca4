"""The real servers the tests talk to: PostgreSQL, Temporal and SMTP, started once per session.

No mocks: the embedded PostgreSQL wheel (or DATABASE_URL), the Temporal dev server and the
time-skipping test server from their wheels, and an aiosmtpd server.
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.converter import DataConverter

from config import Settings
from temporal_access.client import data_converter_for
from workflows.search import ALL_KEYS

BIN = Path(sys.executable).parent


def temporal_cli() -> str:
    return str(BIN / "temporal")


def temporal_test_server() -> str:
    return str(BIN / "temporal-test-server")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    """What the service uses with its default (development) settings: msgspec, encrypted."""
    return data_converter_for(Settings.from_env({}))

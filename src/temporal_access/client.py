"""The one way the API, the worker and the CLI connect to Temporal."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from config import Settings
from config.secrets import require
from temporal_access.codec import EncryptionCodec, parse_keys
from temporal_access.tracing import ServiceTracing
from workflows.converter import data_converter


def codec_for(settings: Settings) -> EncryptionCodec:
    return EncryptionCodec(
        parse_keys(require(settings.payload_keys, "PAYLOAD_KEYS")),
        require(settings.payload_active_key, "PAYLOAD_ACTIVE_KEY"),
    )


def data_converter_for(settings: Settings) -> DataConverter:
    """msgspec payloads, encrypted with the configured keys."""
    return dataclasses.replace(data_converter, payload_codec=codec_for(settings))


def _read(path: str | None) -> bytes | None:
    return None if path is None else Path(path).read_bytes()


def tls_config(settings: Settings) -> TLSConfig | bool:
    if not settings.temporal_tls:
        return False
    if not (settings.temporal_tls_cert or settings.temporal_tls_ca):
        return True  # TLS with the system's trust store (Temporal Cloud with an API key)
    return TLSConfig(
        server_root_ca_cert=_read(settings.temporal_tls_ca),
        client_cert=_read(settings.temporal_tls_cert),
        client_private_key=_read(settings.temporal_tls_key),
    )


async def connect(settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None) -> Client:
    """The client of `settings`; with tracing on, its calls and the worker built on it carry spans
    (temporal_access.tracing)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter_for(settings),
        tls=tls_config(settings),
        api_key=settings.temporal_api_key,
        lazy=lazy,
        runtime=runtime,
        interceptors=[ServiceTracing()] if settings.otlp_protocol else [],
    )

"""The one way the API, the worker and the CLI connect to Temporal."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.envconfig import ClientConfigProfile, ClientConnectConfig
from temporalio.runtime import Runtime

from config import Settings
from config.secrets import require
from config.settings import SettingsError
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


def connect_options(settings: Settings) -> ClientConnectConfig:
    """TLS, API key and gRPC metadata of the client's profile (config.settings), certificates read.

    The address and namespace come from the settings, which default them for the embedded server.
    """
    try:
        options = ClientConfigProfile.from_dict(settings.temporal_profile).to_client_connect_config()
    except OSError as error:
        raise SettingsError(f"Temporal TLS file {error.filename!r}: {error.strerror}") from None
    options.pop("target_host", None)
    options.pop("namespace", None)
    return options


async def connect(settings: Settings, *, lazy: bool = False, runtime: Runtime | None = None) -> Client:
    """The client of `settings`; with tracing on, its calls and the worker built on it carry spans
    (temporal_access.tracing)."""
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter_for(settings),
        lazy=lazy,
        runtime=runtime,
        interceptors=[ServiceTracing()] if settings.otlp_protocol else [],
        **connect_options(settings),
    )

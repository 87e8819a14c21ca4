"""The codec endpoint Temporal UI calls to show an operator decrypted payloads.

It speaks the codec-server protocol (`POST /codec/decode`, `/codec/encode` with
`{"payloads": [...]}` in protobuf JSON), for tokens with ROLE_ADMIN or ROLE_OPERATOR, and respects
tenants: an admin gets only its own application's payloads, an operator every application's
(temporal_access.ownership says whose a payload is). A request with any payload the caller is not
entitled to is refused whole (403), naming those payloads.

The embedded development stack's Temporal UI sends no token: it calls
`/codec/development/<key>/...` with the key `make run` generated for it (CODEC_DEVELOPMENT_KEY),
which exists only there, on loopback, and acts as an operator.
"""

from __future__ import annotations

import hmac
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Error as ProtobufError
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.status_codes import HTTP_200_OK
from temporalio.api.common.v1 import Payload, Payloads

from api.auth.guards import PrincipalRequest, requires
from domain.access import Principal, Role
from domain.errors import forbidden, invalid, not_found
from temporal_access.codec import CodecKeyError, EncryptionCodec
from temporal_access.ownership import EVERYBODY, NOBODY, owner_of

# What the development UI acts as: a platform operator of the local stack.
DEVELOPMENT_UI = Principal(sub="development-ui", roles=frozenset({Role.OPERATOR}), application_id="")


async def _payloads(request: Request[Any, Any, Any]) -> list[Payload]:
    try:
        return list(json_format.ParseDict(await request.json(), Payloads()).payloads)
    except (json_format.Error, ProtobufError, ValueError, TypeError) as exc:
        raise invalid("payloads", f"payloads: not a codec request ({exc})") from None


def _answer(payloads: list[Payload]) -> dict[str, Any]:
    return json_format.MessageToDict(Payloads(payloads=payloads))


def check_entitled(principal: Principal, plaintexts: list[Payload]) -> None:
    """403 unless the caller may read every one of these payloads."""
    if Role.OPERATOR in principal.roles:
        return
    refused = []
    for index, payload in enumerate(plaintexts):
        owner = owner_of(payload)
        if owner in (EVERYBODY, principal.application_id):
            continue
        whose = "no application" if owner is NOBODY else "another application"
        refused.append(f"payloads[{index}] belongs to {whose}")
    if refused:
        raise forbidden(
            f"{'; '.join(refused[:5])}: an admin decodes its own application's payloads only, "
            "ROLE_OPERATOR every one"
        )


async def decode_for(
    principal: Principal, request: Request[Any, Any, Any], codec: EncryptionCodec
) -> dict[str, Any]:
    try:
        decoded = await codec.decode(await _payloads(request))
    except CodecKeyError as exc:
        raise invalid("payloads", f"payloads: {exc}") from None
    check_entitled(principal, decoded)
    return _answer(decoded)


async def encode_for(
    principal: Principal, request: Request[Any, Any, Any], codec: EncryptionCodec
) -> dict[str, Any]:
    plaintexts = await _payloads(request)
    check_entitled(principal, plaintexts)
    return _answer(await codec.encode(plaintexts))


class CodecController(Controller):
    path = "/codec"
    tags = ["Operations"]
    opt = requires(Role.ADMIN, Role.OPERATOR)

    @post(
        "/decode",
        status_code=HTTP_200_OK,
        summary="Decrypt payloads for Temporal UI (ROLE_ADMIN: its application's; ROLE_OPERATOR: all)",
    )
    async def decode_payloads(
        self, request: PrincipalRequest, codec: NamedDependency[EncryptionCodec]
    ) -> dict[str, Any]:
        return await decode_for(request.user, request, codec)

    @post(
        "/encode",
        status_code=HTTP_200_OK,
        summary="Encrypt payloads for Temporal UI (ROLE_ADMIN: its application's; ROLE_OPERATOR: all)",
    )
    async def encode_payloads(
        self, request: PrincipalRequest, codec: NamedDependency[EncryptionCodec]
    ) -> dict[str, Any]:
        return await encode_for(request.user, request, codec)


def development_codec(key: str) -> type[Controller]:
    """The codec of the development stack's Temporal UI, under the key only that UI knows."""

    def _check(given: str) -> None:
        if not hmac.compare_digest(given.encode(), key.encode()):
            raise not_found("no such codec")

    class DevelopmentCodecController(Controller):
        path = "/codec/development/{key:str}"
        include_in_schema = False
        opt = {"exclude_from_auth": True}

        @post("/decode", status_code=HTTP_200_OK)
        async def decode(
            self, key: FromPath[str], request: Request[Any, Any, Any], codec: NamedDependency[EncryptionCodec]
        ) -> dict[str, Any]:
            _check(key)
            return await decode_for(DEVELOPMENT_UI, request, codec)

        @post("/encode", status_code=HTTP_200_OK)
        async def encode(
            self, key: FromPath[str], request: Request[Any, Any, Any], codec: NamedDependency[EncryptionCodec]
        ) -> dict[str, Any]:
            _check(key)
            return await encode_for(DEVELOPMENT_UI, request, codec)

    return DevelopmentCodecController

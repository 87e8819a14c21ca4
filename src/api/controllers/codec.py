"""The codec endpoint Temporal UI calls to show an operator decrypted payloads.

It speaks the codec-server protocol (`POST /codec/decode`, `/codec/encode` with
`{"payloads": [...]}` in protobuf JSON) and answers only tokens with ROLE_ADMIN.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Error as ProtobufError
from litestar import Controller, Request, post
from litestar.di import NamedDependency
from litestar.status_codes import HTTP_200_OK
from temporalio.api.common.v1 import Payloads

from api.auth.guards import requires
from domain.access import Principal, Role
from domain.errors import invalid
from temporal_access.codec import CodecKeyError, EncryptionCodec


async def _payloads(request: Request[Principal, str, object]) -> Payloads:
    try:
        return json_format.ParseDict(await request.json(), Payloads())
    except (json_format.Error, ProtobufError, ValueError, TypeError) as exc:
        raise invalid("payloads", f"payloads: not a codec request ({exc})") from None


def _answer(payloads: list[Any]) -> dict[str, Any]:
    return json_format.MessageToDict(Payloads(payloads=payloads))


class CodecController(Controller):
    path = "/codec"
    tags = ["Operations"]
    opt = requires(Role.ADMIN)

    @post("/decode", status_code=HTTP_200_OK, summary="Decrypt payloads for Temporal UI (ROLE_ADMIN)")
    async def decode(
        self, request: Request[Principal, str, object], codec: NamedDependency[EncryptionCodec]
    ) -> dict[str, Any]:
        try:
            decoded = await codec.decode((await _payloads(request)).payloads)
        except CodecKeyError as exc:
            raise invalid("payloads", f"payloads: {exc}") from None
        return _answer(decoded)

    @post("/encode", status_code=HTTP_200_OK, summary="Encrypt payloads for Temporal UI (ROLE_ADMIN)")
    async def encode(
        self, request: Request[Principal, str, object], codec: NamedDependency[EncryptionCodec]
    ) -> dict[str, Any]:
        return _answer(await codec.encode((await _payloads(request)).payloads))

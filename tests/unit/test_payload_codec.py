"""AES-GCM payload encryption: round trip, key rotation, pass-through, tampering."""

from __future__ import annotations

import base64
import os

import pytest
from cryptography.exceptions import InvalidTag
from temporalio.api.common.v1 import Payload

from temporal_access.codec import ENCODING, KEY_ID, CodecKeyError, EncryptionCodec, parse_keys

OLD, NEW = os.urandom(32), os.urandom(32)
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=b'{"firstName":"Bobby"}')


async def test_round_trip_hides_the_data_and_names_the_key() -> None:
    codec = EncryptionCodec({"k1": OLD}, "k1")
    [sealed] = await codec.encode([PLAIN])
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[KEY_ID] == b"k1"
    assert b"Bobby" not in sealed.data
    assert await codec.decode([sealed]) == [PLAIN]


async def test_rotation_decrypts_old_payloads_and_encrypts_with_the_new_key() -> None:
    [old] = await EncryptionCodec({"k1": OLD}, "k1").encode([PLAIN])
    rotated = EncryptionCodec({"k1": OLD, "k2": NEW}, "k2")
    assert await rotated.decode([old]) == [PLAIN]
    [new] = await rotated.encode([PLAIN])
    assert new.metadata[KEY_ID] == b"k2"
    with pytest.raises(CodecKeyError, match="k2"):
        await EncryptionCodec({"k1": OLD}, "k1").decode([new])


async def test_unencrypted_payloads_pass_through() -> None:
    assert await EncryptionCodec({"k1": OLD}, "k1").decode([PLAIN]) == [PLAIN]


async def test_tampering_and_key_substitution_are_detected() -> None:
    codec = EncryptionCodec({"k1": OLD, "k2": OLD}, "k1")
    [sealed] = await codec.encode([PLAIN])
    flipped = Payload(metadata=dict(sealed.metadata), data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(InvalidTag):
        await codec.decode([flipped])
    relabelled = Payload(metadata={**sealed.metadata, KEY_ID: b"k2"}, data=sealed.data)
    with pytest.raises(InvalidTag):
        await codec.decode([relabelled])


@pytest.mark.parametrize("raw", ["nokey", "k1:not-base64!", "k1:" + base64.b64encode(b"short").decode()])
def test_bad_key_configuration_is_refused(raw: str) -> None:
    with pytest.raises(CodecKeyError):
        parse_keys(raw)


def test_the_active_key_must_be_configured() -> None:
    with pytest.raises(CodecKeyError):
        EncryptionCodec({"k1": OLD}, "k9")

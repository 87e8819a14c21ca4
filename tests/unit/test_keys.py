"""What the service derives from SERVICE_SECRET cannot be computed without it."""

from __future__ import annotations

import uuid

from domain.keys import Purpose, ServiceKeys

KEYS = ServiceKeys("s" * 40)


def test_resource_ids_are_uuids_of_the_secret_scope_and_key() -> None:
    first = KEYS.resource_id("appointment\0app\0agent", "key-1")
    assert uuid.UUID(first).version == 4
    assert first == KEYS.resource_id("appointment\0app\0agent", "key-1")
    assert first != KEYS.resource_id("appointment\0app\0agent", "key-2")
    assert first != KEYS.resource_id("appointment\0app\0other", "key-1")
    # Another secret, another id: whoever knows the key cannot compute the id.
    assert first != ServiceKeys("t" * 40).resource_id("appointment\0app\0agent", "key-1")
    assert first != str(uuid.uuid5(uuid.NAMESPACE_URL, "appointment\0app\0agent\0key-1"))


def test_calendar_tokens_belong_to_one_appointment() -> None:
    token = KEYS.calendar_token("a")
    assert KEYS.is_calendar_token("a", token)
    assert not KEYS.is_calendar_token("b", token)
    assert not KEYS.is_calendar_token("a", None)
    assert not KEYS.is_calendar_token("a", token[:-1])
    assert len(token) == 22  # 128 bits, URL-safe


def test_each_purpose_has_its_own_key() -> None:
    assert len({KEYS.key(purpose) for purpose in Purpose}) == len(Purpose)
    assert KEYS.pseudonym("client:1.2.3.4") != KEYS.pseudonym("client:1.2.3.5")

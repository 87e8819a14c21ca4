"""The SSRF guard and the other rules of webhook subscriptions. Nothing here is contacted:
only literal addresses and `localhost` (from the hosts file) are resolved."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import pytest

from config.settings import Settings, SettingsError
from devstack.supervisor import DevStack, Signals
from domain.errors import DomainError, ErrorKind
from domain.webhook_rules import address_refusal, check_events, check_headers, check_secret
from outbound.webhook_urls import check_webhook_url

STRICT = {"allow_private": False, "allow_loopback": False}
LOOPBACK = {"allow_private": False, "allow_loopback": True}
PRIVATE = {"allow_private": True, "allow_loopback": False}


async def _refused(url: str, **flags: bool) -> DomainError:
    with pytest.raises(DomainError) as caught:
        await check_webhook_url(url, **(flags or STRICT))
    error = caught.value
    assert error.kind is ErrorKind.INVALID and error.field == "url", error
    return error


@pytest.mark.parametrize(
    "url",
    ["https://93.184.215.14/hook", "http://8.8.8.8:8080/x?y=1", "https://[2606:4700:4700::1111]/"],
)
async def test_public_addresses_are_accepted(url: str) -> None:
    assert await check_webhook_url(url, **STRICT) == url


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:9000/x", "loopback"),
        ("http://127.8.9.10/", "loopback"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback"),
        ("http://10.0.0.1/x", "private"),
        ("http://172.16.5.4/", "private"),
        ("http://192.168.1.1/", "private"),
        ("http://100.64.0.1/", "private"),
        ("http://[fd12:3456::1]/", "private"),
        ("http://169.254.1.1/", "link-local"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://240.0.0.1/", "reserved"),
    ],
)
async def test_non_public_addresses_are_refused_by_default(url: str, kind: str) -> None:
    error = await _refused(url)
    assert f"a {kind} address" in error.message, error.message


@pytest.mark.parametrize(
    "url",
    [
        "http://[::ffff:10.0.0.1]/",
        "http://[::ffff:192.168.0.1]/",
        "http://[2002:a00:1::]/",  # 6to4 of 10.0.0.1
        "http://[64:ff9b::a00:1]/",  # NAT64 of 10.0.0.1
    ],
)
async def test_ipv6_addresses_embedding_a_private_ipv4_are_refused(url: str) -> None:
    await _refused(url)
    await _refused(url, **LOOPBACK)


async def test_loopback_is_allowed_when_configured() -> None:
    for url in (
        "http://127.0.0.1:9000/x",
        "http://[::1]:9000/",
        "http://localhost:9000/x",
        "http://[::ffff:127.0.0.1]/",
    ):
        assert await check_webhook_url(url, **LOOPBACK) == url
    # ... and nothing else.
    for url in ("http://10.0.0.1/x", "http://192.168.1.1/", "http://169.254.169.254/latest"):
        await _refused(url, **LOOPBACK)


async def test_private_networks_are_allowed_when_configured() -> None:
    for url in ("http://10.0.0.1/x", "http://192.168.1.1/", "http://[::ffff:10.0.0.1]/", "http://127.0.0.1/"):
        assert await check_webhook_url(url, **PRIVATE) == url
    assert await check_webhook_url("http://169.254.1.1/", **PRIVATE) == "http://169.254.1.1/"


@pytest.mark.parametrize(
    "url", ["http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/", "http://0.0.0.0/"]
)
async def test_metadata_and_unspecified_addresses_are_never_allowed(url: str) -> None:
    await _refused(url, allow_private=True, allow_loopback=True)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.215.14/x",
        "file:///etc/passwd",
        "gopher://93.184.215.14/",
        "93.184.215.14/x",
        "https://",
        "http:///path",
        "https://user:pw@93.184.215.14/",
        "https://user@93.184.215.14/",
        "https://93.184.215.14:99999/",
        "https://93.184.215.14/a b",
        "https://93.184.215.14/\r\nX: y",
        "https://93.184.215.14/" + "a" * 2048,
        "",
    ],
)
async def test_malformed_urls_are_refused(url: str) -> None:
    await _refused(url, allow_private=True, allow_loopback=True)


def _fake_dns(monkeypatch: pytest.MonkeyPatch, answers: dict[str, list[str]]) -> None:
    """Names resolve from `answers` (a missing name fails as DNS would); nothing is queried."""

    async def getaddrinfo(
        self: asyncio.AbstractEventLoop, host: str, port: int, **_: object
    ) -> list[tuple[int, int, int, str, tuple[str, int]]]:
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]

    monkeypatch.setattr(asyncio.BaseEventLoop, "getaddrinfo", getaddrinfo)


async def test_an_unresolvable_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(monkeypatch, {})
    error = await _refused("https://no-such-host.invalid/hook", allow_private=True, allow_loopback=True)
    assert "does not resolve" in error.message


async def test_a_name_is_refused_when_any_of_its_addresses_is(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_dns(
        monkeypatch,
        {"hooks.example.test": ["93.184.215.14"], "mixed.example.test": ["93.184.215.14", "10.1.2.3"]},
    )
    assert await check_webhook_url("https://hooks.example.test/x", **STRICT) == "https://hooks.example.test/x"
    error = await _refused("https://mixed.example.test/x")
    # Neither the address nor that the name resolves: no map of the internal DNS through refusals.
    assert error.message == "url: mixed.example.test does not resolve to an address webhooks may be sent to"
    assert error.message == (await _refused("https://no-such-host.invalid/x")).message.replace(
        "no-such-host.invalid", "mixed.example.test"
    )


async def test_a_name_for_loopback_is_refused_without_saying_so() -> None:
    error = await _refused("http://localhost:8080/hook")
    assert "127.0.0.1" not in error.message and "loopback" not in error.message


@pytest.mark.parametrize("port", [22, 25, 53, 110, 143, 389, 445, 587, 993, 1023])
async def test_privileged_ports_other_than_the_webs_are_refused(port: int) -> None:
    error = await _refused(f"https://93.184.215.14:{port}/x")
    assert f"port {port} is not allowed" in error.message


@pytest.mark.parametrize(
    "url", ["https://93.184.215.14/", "http://93.184.215.14:80/", "https://93.184.215.14:8443/"]
)
async def test_web_and_unprivileged_ports_are_allowed(url: str) -> None:
    assert await check_webhook_url(url, **STRICT) == url


def test_address_refusal_judges_each_address() -> None:
    public = ipaddress.ip_address("93.184.215.14")
    assert address_refusal(public, **STRICT) is None
    mapped = ipaddress.ip_address("::ffff:192.168.0.1")
    assert address_refusal(mapped, **STRICT) == "::ffff:c0a8:1 (that is 192.168.0.1) is a private address"
    assert address_refusal(mapped, **PRIVATE) is None


def test_events_are_names_or_star_without_duplicates() -> None:
    assert check_events(["APPOINTMENT_CREATED", "*", "APPOINTMENT_CREATED"]) == ("APPOINTMENT_CREATED", "*")
    with pytest.raises(DomainError) as caught:
        check_events([])
    assert caught.value.field == "events"
    with pytest.raises(DomainError) as caught:
        check_events(["APPOINTMENT_CREATED", "appointment_created"])
    assert caught.value.field == "events[1]"


def test_secret_length() -> None:
    assert check_secret("x" * 16) == "x" * 16
    for secret in ("x" * 15, "x" * 257, ""):
        with pytest.raises(DomainError) as caught:
            check_secret(secret)
        assert caught.value.field == "secret"


def test_headers() -> None:
    assert check_headers({"Authorization": "Bearer abc", "X-Tenant": "a\tb"}) == {
        "Authorization": "Bearer abc",
        "X-Tenant": "a\tb",
    }
    cases = {
        "Bad Name": {"Bad Name": "x"},
        "X-Ok": {"X-Ok": "a\r\nInjected: yes"},
        "content-type": {"content-type": "text/plain"},
        "X-Webhook-Signature": {"X-Webhook-Signature": "t=1,v1=00"},
        "Host": {"Host": "example.com"},
        "x-a": {"X-A": "1", "x-a": "2"},
    }
    for name, headers in cases.items():
        with pytest.raises(DomainError) as caught:
            check_headers(headers)
        assert caught.value.field == f"headers.{name}", (headers, caught.value)
    with pytest.raises(DomainError) as caught:
        check_headers({f"X-{i}": "v" for i in range(21)})
    assert caught.value.field == "headers"


def test_the_settings_refuse_private_and_loopback_unless_set() -> None:
    settings = Settings.from_env({})
    assert settings.webhooks_allow_private is False and settings.webhooks_allow_loopback is False
    settings = Settings.from_env({"WEBHOOKS_ALLOW_PRIVATE_NETWORKS": "true", "WEBHOOKS_ALLOW_LOOPBACK": "1"})
    assert settings.webhooks_allow_private is True and settings.webhooks_allow_loopback is True
    with pytest.raises(SettingsError, match="WEBHOOKS_ALLOW_LOOPBACK"):
        Settings.from_env({"WEBHOOKS_ALLOW_LOOPBACK": "maybe"})


def test_make_run_allows_loopback_unless_told_otherwise(monkeypatch: pytest.MonkeyPatch) -> None:
    stack = DevStack(Settings.from_env({}), Signals())
    monkeypatch.delenv("WEBHOOKS_ALLOW_LOOPBACK", raising=False)
    assert stack._child_environment()["WEBHOOKS_ALLOW_LOOPBACK"] == "true"
    monkeypatch.setenv("WEBHOOKS_ALLOW_LOOPBACK", "false")
    assert stack._child_environment()["WEBHOOKS_ALLOW_LOOPBACK"] == "false"

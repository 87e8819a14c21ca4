"""Pieces of the development stack that need no server."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from api.auth.tokens import TokenVerifier
from config.settings import Settings
from devstack.banner import DEMO_APPLICATION_ID, DEMO_SUBJECTS, StackInfo, demo_tokens, render
from devstack.net import free_port, port_is_free
from devstack.processes import spawn, terminate
from devstack.secrets import load_or_create
from devstack.supervisor import DEFAULT_API_METRICS_PORT, DEFAULT_WORKER_METRICS_PORT, DevStack, Signals

SECRET = "test-secret-0123456789abcdef-0123456789"


async def test_printed_tokens_are_accepted_by_the_api() -> None:
    tokens = demo_tokens(SECRET, audience="appointments", issuer="dev")
    verifier = TokenVerifier(SECRET, audience="appointments", issuer="dev")

    assert [t.role for t in tokens] == list(DEMO_SUBJECTS)
    for token in tokens:
        principal = await verifier.verify(token.token)
        assert principal.sub == DEMO_SUBJECTS[token.role]
        assert principal.application_id == DEMO_APPLICATION_ID
        assert [role.value for role in principal.roles] == [token.role]


def test_banner_names_urls_secret_and_one_export_per_role() -> None:
    info = StackInfo(
        api_url="http://127.0.0.1:8000",
        temporal_address="127.0.0.1:7233",
        temporal_ui_url="http://127.0.0.1:8233",
        temporal_profile_file=Path("/data/temporal.toml"),
        mail="/data/mail/",
        jwt_secret=SECRET,
        namespace="default",
    )
    text = render(info, demo_tokens(SECRET))

    for expected in (
        "http://127.0.0.1:8000/schema/openapi.json",
        "http://127.0.0.1:8233",
        "TEMPORAL_CONFIG_FILE=/data/temporal.toml",
        "/data/mail/",
    ):
        assert expected in text
    assert f"{SECRET}   (generated for this DATA_DIR" in text
    assert text.count("export ") == 6
    assert "$AGENT_TOKEN" in text


def test_port_is_free_sees_a_listener() -> None:
    port = free_port()
    assert port_is_free(port)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert not port_is_free(port)


def test_terminate_kills_a_child_that_ignores_sigterm(tmp_path: Path) -> None:
    ready = tmp_path / "ready"
    code = (
        "import pathlib, signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        "pathlib.Path(sys.argv[1]).touch(); time.sleep(60)"
    )
    child = spawn("stubborn", [sys.executable, "-c", code, str(ready)], cwd=tmp_path, env={})
    deadline = time.monotonic() + 10
    while not ready.exists() and time.monotonic() < deadline:
        time.sleep(0.05)

    started = time.monotonic()
    terminate([child], timeout=0.5)

    assert child.poll() == -9
    assert time.monotonic() - started < 5


def test_the_development_stack_listens_on_loopback_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Whatever the environment says, `make run` binds the API and both metrics listeners to 127.0.0.1,
    and hands the API and the worker the secrets it generated for its DATA_DIR."""
    monkeypatch.setenv("HTTP_HOST", "0.0.0.0")
    monkeypatch.setenv("METRICS_HOST", "0.0.0.0")
    monkeypatch.delenv("API_METRICS_PORT", raising=False)
    stack = DevStack(Settings.from_env({"DATA_DIR": str(tmp_path)}), Signals())
    stack.secrets = load_or_create(tmp_path, {})
    env = stack._child_environment()
    assert env["HTTP_HOST"] == env["METRICS_HOST"] == "127.0.0.1"
    assert env["API_METRICS_PORT"] == "9465"
    assert {name: env[name] for name in stack.secrets} == stack.secrets


def test_a_second_stack_takes_free_metrics_ports_unless_told_which(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Another stack holds the default metrics ports: this one takes free ones and says so; ports the
    operator chose are kept (and refused at start if busy)."""
    monkeypatch.delenv("API_METRICS_PORT", raising=False)
    monkeypatch.delenv("WORKER_METRICS_PORT", raising=False)
    with socket.socket() as api, socket.socket() as worker:
        for listener, port in ((api, DEFAULT_API_METRICS_PORT), (worker, DEFAULT_WORKER_METRICS_PORT)):
            try:
                listener.bind(("127.0.0.1", port))
                listener.listen()
            except OSError:
                pass  # already taken by something else: the same situation
        stack = DevStack(Settings.from_env({"DATA_DIR": str(tmp_path)}), Signals())
        assert stack.api_metrics_port not in (None, DEFAULT_API_METRICS_PORT)
        assert stack.worker_metrics_port not in (None, DEFAULT_WORKER_METRICS_PORT)
        stack.secrets = load_or_create(tmp_path, {})
        env = stack._child_environment()
        assert env["WORKER_METRICS_PORT"] == str(stack.worker_metrics_port)
        assert env["API_METRICS_PORT"] == str(stack.api_metrics_port)
        assert str(stack.worker_metrics_port) in (stack.info().worker_metrics_url or "")

    chosen = free_port()
    monkeypatch.setenv("WORKER_METRICS_PORT", str(chosen))
    stack = DevStack(
        Settings.from_env({"DATA_DIR": str(tmp_path), "WORKER_METRICS_PORT": str(chosen)}), Signals()
    )
    assert stack.worker_metrics_port == chosen

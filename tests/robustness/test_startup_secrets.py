"""`python -m api` and `python worker.py`, started as the image starts them: they refuse to run on
a missing secret or on one published in the source, and listen where they are told.

Real processes: a refusal is the exit code and one line on stderr naming the variable; the API
that does start is reached over HTTP and its sockets are read from the operating system.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import psutil
import pytest

from api.auth.tokens import mint_token
from config.secrets import LEGACY_DEVELOPMENT_PAYLOAD_KEY, SECRET_VARIABLES
from devstack.net import free_port
from tests.support.secrets import TEST_SECRETS

ROOT = Path(__file__).resolve().parents[2]
PUBLISHED_JWT_SECRET = "dev-secret-change-me-0123456789abcdef"
API = (sys.executable, "-m", "api")
WORKER = (sys.executable, str(ROOT / "worker.py"))


def _environment(tmp_path: Path, **values: str) -> dict[str, str]:
    """The test's environment without any secret of its own, a DATA_DIR where `make run` never ran."""
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    env.update(DATA_DIR=str(tmp_path), HTTP_PORT=str(free_port()), WORKER_METRICS_PORT="0", LOG_FORMAT="text")
    env.update(values)
    return {k: v for k, v in env.items() if v}


def _refusal(command: tuple[str, ...], env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    return lines[0]


GOOD = {
    name: TEST_SECRETS[name]
    for name in ("JWT_SECRET", "SERVICE_SECRET", "PAYLOAD_KEYS", "PAYLOAD_ACTIVE_KEY")
}

# A protocol of the specification that the service does not speak: a refusal, not a fallback.
OTLP_JSON = {
    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
    "OTEL_EXPORTER_OTLP_PROTOCOL": "http/json",
}


@pytest.mark.parametrize(
    ("command", "values", "variable"),
    [
        (API, {}, "JWT_SECRET is not set"),
        (API, {**GOOD, "JWT_SECRET": PUBLISHED_JWT_SECRET}, "JWT_SECRET is a development value"),
        (API, {**GOOD, "JWT_SECRET": "short"}, "JWT_SECRET must be at least 32"),
        (API, {**GOOD, "SERVICE_SECRET": ""}, "SERVICE_SECRET is not set"),
        (
            API,
            {**GOOD, "PAYLOAD_KEYS": f"dev:{LEGACY_DEVELOPMENT_PAYLOAD_KEY}", "PAYLOAD_ACTIVE_KEY": ""},
            "PAYLOAD_ACTIVE_KEY names a development key",
        ),
        (API, {**GOOD, "PAYLOAD_KEYS": "", "PAYLOAD_ACTIVE_KEY": ""}, "PAYLOAD_KEYS is not set"),
        (API, {**GOOD, "RATE_LIMITS": "no-such-limit=5"}, "RATE_LIMITS: unknown limit no-such-limit"),
        (WORKER, {}, "PAYLOAD_KEYS is not set"),
        (WORKER, {**GOOD, "SERVICE_SECRET": ""}, "SERVICE_SECRET is not set"),
        (WORKER, {**GOOD, "SERVICE_SECRET": PUBLISHED_JWT_SECRET}, "SERVICE_SECRET is a development value"),
        (WORKER, {**GOOD, "PAYLOAD_KEYS": "k1:not-base64!", "PAYLOAD_ACTIVE_KEY": "k1"}, "PAYLOAD_KEYS"),
        (API, {**GOOD, **OTLP_JSON}, "OTEL_EXPORTER_OTLP_PROTOCOL must be one of http/protobuf, grpc"),
        (WORKER, {**GOOD, **OTLP_JSON}, "OTEL_EXPORTER_OTLP_PROTOCOL must be one of http/protobuf, grpc"),
    ],
    ids=[
        "api-nothing",
        "api-published-jwt-secret",
        "api-short-jwt-secret",
        "api-no-service-secret",
        "api-development-payload-key",
        "api-no-payload-keys",
        "api-unknown-rate-limit",
        "worker-nothing",
        "worker-no-service-secret",
        "worker-published-service-secret",
        "worker-malformed-payload-key",
        "api-unknown-otlp-protocol",
        "worker-unknown-otlp-protocol",
    ],
)
def test_a_process_without_its_secrets_refuses_to_start(
    tmp_path: Path, command: tuple[str, ...], values: dict[str, str], variable: str
) -> None:
    line = _refusal(command, _environment(tmp_path, **values))
    assert variable in line, line
    assert line.startswith("appointments api: " if command == API else "appointments worker: ")


def test_the_development_secrets_of_make_run_are_not_picked_up_by_the_service(tmp_path: Path) -> None:
    """A DATA_DIR where `make run` ran holds its secrets; `python -m api` does not read them."""
    (tmp_path / "secrets.json").write_text('{"JWT_SECRET": "' + "x" * 40 + '"}')
    assert "JWT_SECRET is not set" in _refusal(API, _environment(tmp_path))


@pytest.fixture
def api_process(
    tmp_path: Path, database_url: str, dev_server: object
) -> Iterator[tuple[psutil.Popen, int, int]]:
    port, metrics = free_port(), free_port()
    env = _environment(
        tmp_path,
        **GOOD,
        HTTP_PORT=str(port),
        API_METRICS_PORT=str(metrics),
        DATABASE_URL=database_url.replace("+asyncpg", ""),
        TEMPORAL_ADDRESS=dev_server.client.service_client.config.target_host,  # type: ignore[attr-defined]
    )
    process = psutil.Popen(API, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield process, port, metrics
    finally:
        process.terminate()
        process.wait(10)


def test_the_api_listens_on_loopback_by_default_with_metrics_apart(
    api_process: tuple[psutil.Popen, int, int],
) -> None:
    process, port, metrics = api_process
    listening = {
        c.laddr.port: c.laddr.ip for c in process.net_connections("tcp") if c.status == psutil.CONN_LISTEN
    }
    assert listening == {port: "127.0.0.1", metrics: "127.0.0.1"}, listening
    assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 404
    scraped = httpx.get(f"http://127.0.0.1:{metrics}/metrics")
    assert scraped.status_code == 200 and "http_requests_total" in scraped.text


def test_tokens_signed_with_a_published_secret_are_refused(
    api_process: tuple[psutil.Popen, int, int],
) -> None:
    _, port, _ = api_process
    claims = {"sub": "x", "roles": ["ROLE_SUPERVISOR"], "applicationId": "a", "exp": int(time.time()) + 600}
    forged = jwt.encode(claims, PUBLISHED_JWT_SECRET, algorithm="HS256")
    url = f"http://127.0.0.1:{port}/api/appointments"
    assert httpx.get(url, headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    good = mint_token(GOOD["JWT_SECRET"], sub="x", roles=["ROLE_SUPERVISOR"], application_id="a")
    assert httpx.get(url, headers={"Authorization": f"Bearer {good}"}).status_code == 200


def test_the_image_listens_where_the_operator_says() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "HTTP_HOST=0.0.0.0" in dockerfile and "METRICS_HOST=0.0.0.0" in dockerfile

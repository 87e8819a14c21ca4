"""End to end with a real OpenID provider: npm's `oidc-provider` on the machine's Node.js.

The provider issues an ES256 JWT access token by the client-credentials grant; the API finds the
provider's keys by OpenID Connect discovery of its issuer, checks the audience and reads the roles
and the application where this provider puts them. Skipped, with the reason, where Node.js or
npm's registry is not to be had.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from devstack.net import free_port
from tests.support.secrets import session_settings
from tests.support.serving import running_service

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "support" / "oidc_provider.mjs"
# Installed once, beside the project's other installed packages (.venv is not committed).
INSTALL = ROOT / ".venv" / "oidc-provider"
PACKAGE = "oidc-provider@9"
CLIENT = ("appointments-e2e", "a-client-secret-of-the-e2e-provider")
AUDIENCE = "https://appointments.e2e.test"
APPLICATION = "e2e-application"


def _node() -> str:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("Node.js and npm are not installed: the end-to-end test needs npm's oidc-provider")
    major = int(
        subprocess.run([node, "--version"], capture_output=True, text=True, check=True)
        .stdout[1:]
        .split(".")[0]
    )
    if major < 20:
        pytest.skip(f"oidc-provider 9 needs Node.js 20 or later, this machine has {major}")
    if not (INSTALL / "node_modules" / "oidc-provider").exists():
        INSTALL.mkdir(parents=True, exist_ok=True)
        installed = subprocess.run(
            [npm, "install", "--prefix", str(INSTALL), "--no-audit", "--no-fund", "--silent", PACKAGE],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if installed.returncode != 0:
            pytest.skip(f"npm could not install {PACKAGE}: {installed.stderr.strip()[-300:]}")
    shutil.copy(SCRIPT, INSTALL / SCRIPT.name)
    return node


@pytest.fixture
async def provider() -> AsyncIterator[str]:
    node = _node()
    key = ec.generate_private_key(ec.SECP256R1())
    jwk = {**json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key)), "kid": "e2e-1", "alg": "ES256", "use": "sig"}
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "AUDIENCE": AUDIENCE,
        "CLIENT_ID": CLIENT[0],
        "CLIENT_SECRET": CLIENT[1],
        "ROLES": json.dumps(["offline_access", "ROLE_SUPERVISOR"]),
        "APPLICATION": APPLICATION,
        "JWKS": json.dumps({"keys": [jwk]}),
    }
    process = await asyncio.create_subprocess_exec(
        node,
        SCRIPT.name,
        cwd=INSTALL,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert line.strip() == b"ready", line
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        await process.wait()


async def test_a_token_of_a_real_openid_provider_is_accepted(
    provider: str, database_url: str, dev_server: WorkflowEnvironment, engine: AsyncEngine
) -> None:
    async with httpx.AsyncClient() as client:
        granted = await client.post(
            f"{provider}/token",
            data={"grant_type": "client_credentials", "scope": "appointments"},
            auth=CLIENT,
        )
    assert granted.status_code == 200, granted.text
    token = granted.json()["access_token"]
    assert jwt.get_unverified_header(token)["alg"] == "ES256"

    settings = session_settings(
        {
            "DATABASE_URL": database_url,
            "TEMPORAL_ADDRESS": dev_server.client.service_client.config.target_host,
            "HTTP_PORT": str(free_port()),
            "JWT_SECRET": "",
            "JWT_ISSUER": provider,
            "JWT_AUDIENCE": AUDIENCE,
            "JWT_ROLES_CLAIM": "realm_access.roles",
            "JWT_APPLICATION_CLAIM": "tenant",
        }
    )
    async with (
        running_service(dev_server.client, settings, engine, with_worker=False) as base_url,
        httpx.AsyncClient(base_url=base_url) as api,
    ):
        bearer = {"Authorization": f"Bearer {token}"}
        listed = await api.get("/api/appointments", headers=bearer)
        assert listed.status_code == 200, listed.text
        assert (await api.get(f"/api/appointments/{uuid.uuid4()}", headers=bearer)).status_code == 404
        tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
        assert (
            await api.get("/api/appointments", headers={"Authorization": f"Bearer {tampered}"})
        ).status_code == 401

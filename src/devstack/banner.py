"""What `make run` prints once the stack is ready: URLs, the JWT secret and demo tokens."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from api.auth.tokens import mint_token

# Fixed ids, so that tokens printed by one run keep working (same tenant) after a restart.
DEMO_APPLICATION_ID = "00000000-0000-4000-8000-000000000001"
DEMO_SUBJECTS: dict[str, str] = {
    "ROLE_AGENT": "00000000-0000-4000-8000-000000000101",
    "ROLE_SUPERVISOR": "00000000-0000-4000-8000-000000000102",
    "ROLE_CLIENT_SERVICE": "00000000-0000-4000-8000-000000000103",
    "ROLE_CUSTOMER": "00000000-0000-4000-8000-000000000104",
    "ROLE_ADMIN": "00000000-0000-4000-8000-000000000105",
}
DEMO_TOKEN_TTL = timedelta(hours=12)


@dataclass(frozen=True, slots=True)
class DemoToken:
    role: str
    subject: str
    token: str

    @property
    def variable(self) -> str:
        return self.role.removeprefix("ROLE_") + "_TOKEN"


def demo_tokens(
    secret: str,
    *,
    audience: str | None = None,
    issuer: str | None = None,
    ttl: timedelta = DEMO_TOKEN_TTL,
) -> list[DemoToken]:
    """One HS256 token per role, all for the demo application."""
    return [
        DemoToken(
            role,
            subject,
            mint_token(
                secret,
                sub=subject,
                roles=[role],
                application_id=DEMO_APPLICATION_ID,
                ttl=ttl,
                audience=audience,
                issuer=issuer,
            ),
        )
        for role, subject in DEMO_SUBJECTS.items()
    ]


@dataclass(frozen=True, slots=True)
class StackInfo:
    api_url: str
    temporal_address: str
    temporal_ui_url: str | None
    # The embedded server's profile for Temporal's CLI (with temporal_ui_url).
    temporal_profile_file: Path | None
    mail: str
    jwt_secret: str
    namespace: str
    worker_metrics_url: str | None = None
    api_metrics_url: str | None = None


def render(info: StackInfo, tokens: list[DemoToken], now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    expires = (now + DEMO_TOKEN_TTL).strftime("%Y-%m-%d %H:%M UTC")
    temporal = (
        f"  Temporal UI   {info.temporal_ui_url}\n"
        f"  Temporal CLI  export TEMPORAL_CONFIG_FILE={info.temporal_profile_file}"
        if info.temporal_ui_url
        else f"  Temporal      {info.temporal_address}   (TEMPORAL_ADDRESS, namespace {info.namespace})"
    )
    lines = [
        "",
        "Appointments development stack is ready.",
        "",
        f"  API           {info.api_url}/api/appointments/   (health: {info.api_url}/health)",
        f"  OpenAPI docs  {info.api_url}/schema   (document: {info.api_url}/schema/openapi.json)",
        temporal,
        f"  Metrics       api: {info.api_metrics_url or 'off'}   worker: {info.worker_metrics_url or 'off'}",
        f"  Mail          {info.mail}",
        f"  JWT secret    {info.jwt_secret}   (generated for this DATA_DIR, HS256; development only)",
        "",
        f"Tokens for application {DEMO_APPLICATION_ID}, valid until {expires}",
        "(paste into a shell to set the variables):",
        "",
    ]
    for token in tokens:
        lines.append(f"  # {token.role}, sub {token.subject}")
        lines.append(f"  export {token.variable}={token.token}")
    lines += ["", "Schedule an appointment as the agent:", "", _curl_example(info.api_url, now), ""]
    lines.append("Ctrl-C stops everything; data stays in DATA_DIR.")
    return "\n".join(lines)


def _curl_example(api_url: str, now: datetime) -> str:
    start = (now + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    body = {
        "applicationId": DEMO_APPLICATION_ID,
        "customer": {
            "name": {"firstName": "Ada", "lastName": "Lovelace"},
            "contact": {"primaryEmail": "ada@example.com"},
        },
        "start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": "PT30M",
        "timezone": "Europe/Berlin",
        "locale": "en-GB",
        "title": "Demo appointment",
    }
    return (
        f"  curl -sS -X POST {api_url}/api/appointments/ \\\n"
        '    -H "Authorization: Bearer $AGENT_TOKEN" -H "Content-Type: application/json" \\\n'
        f"    -d {shlex.quote(json.dumps(body))}"
    )

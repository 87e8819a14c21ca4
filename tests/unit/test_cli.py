"""The `appointments` command line: arguments, help and the token it mints (no servers)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import jwt
import pytest

from api.auth.tokens import InvalidToken, TokenVerifier
from cli.main import main
from config.settings import load_settings
from devstack.banner import DEMO_APPLICATION_ID, DEMO_SUBJECTS
from domain.access import Role

SECRET = "cli-test-secret-0123456789-0123456789-abcdef"


@pytest.fixture
def jwt_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """JWT_SECRET (and audience, issuer) as the command reads them: settings are cached once."""
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("JWT_AUDIENCE", "appointments")
    monkeypatch.setenv("JWT_ISSUER", "cli-test")
    load_settings.cache_clear()
    yield
    load_settings.cache_clear()


def _token(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["token", *args]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1, "the token alone, for `export X=$(appointments token ...)`"
    return out.strip()


VERIFIER = TokenVerifier(SECRET, audience="appointments", issuer="cli-test")


async def test_token_defaults_to_the_demo_application_and_subject(
    jwt_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    principal = await VERIFIER.verify(_token(capsys, "--role", "ROLE_SUPERVISOR"))

    assert principal.sub == DEMO_SUBJECTS["ROLE_SUPERVISOR"]
    assert principal.application_id == DEMO_APPLICATION_ID
    assert principal.roles == frozenset({Role.SUPERVISOR})
    assert principal.conference_id is None


async def test_token_carries_the_given_roles_subject_application_and_conference(
    jwt_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    token = _token(
        capsys,
        "--role",
        "ROLE_CUSTOMER",
        "--role",
        "agent",  # the short form is accepted
        "--role",
        "ROLE_CUSTOMER",
        "--sub",
        "user-7",
        "--application",
        "app-1",
        "--conference",
        "conf-9",
        "--ttl-minutes",
        "5",
    )
    principal = await VERIFIER.verify(token)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="appointments")

    assert principal.sub == "user-7"
    assert principal.application_id == "app-1"
    assert principal.conference_id == "conf-9"
    assert claims["roles"] == ["ROLE_CUSTOMER", "ROLE_AGENT"]
    assert claims["exp"] - claims["iat"] == 300
    assert abs(claims["iat"] - datetime.now(UTC).timestamp()) < 60


async def test_token_is_signed_with_jwt_secret(jwt_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    token = _token(capsys, "--role", "ROLE_ADMIN")

    with pytest.raises(InvalidToken, match="Signature"):
        await TokenVerifier("another-secret-0123456789-0123456789", audience="appointments").verify(token)


@pytest.mark.parametrize(
    "args",
    [
        ["--role", "ROLE_JANITOR"],
        [],
        ["--role", "ROLE_AGENT", "--ttl-minutes", "0"],
        ["--role", "ROLE_AGENT", "--ttl-minutes", "soon"],
    ],
    ids=["unknown role", "no role", "zero ttl", "ttl not a number"],
)
def test_token_refuses_bad_arguments_with_exit_2(
    args: list[str], jwt_env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["token", *args])

    assert exit_.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "appointments token: error:" in captured.err


def test_unknown_role_lists_the_valid_ones(jwt_env: None, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["token", "--role", "ROLE_JANITOR"])

    err = capsys.readouterr().err
    assert "unknown role 'ROLE_JANITOR'" in err
    assert all(role.value in err for role in Role)


@pytest.mark.parametrize("command", [[], ["dev"], ["api"], ["worker"], ["migrate"], ["token"], ["replay"]])
def test_every_command_has_help(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])

    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: appointments {' '.join(command)}".rstrip())


def test_top_level_help_names_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])

    out = capsys.readouterr().out
    for command in ("dev", "api", "worker", "migrate", "token", "replay"):
        assert f"    {command} " in out


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--server", "tests/replay/histories"],
        ["tests/replay/histories", "--limit", "3"],
        ["--server", "--limit", "0"],
    ],
    ids=["nothing to replay", "files and server", "server option without server", "zero limit"],
)
def test_replay_refuses_bad_arguments_with_exit_2(
    args: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["replay", *args])

    assert exit_.value.code == 2
    assert "appointments replay: error:" in capsys.readouterr().err


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([])

    assert exit_.value.code == 2

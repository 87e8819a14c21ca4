"""No process runs on a missing secret or one published in the source; `make run` makes its own."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest

from config.secrets import (
    DEVELOPMENT_SECRETS_FILE,
    KNOWN_DEVELOPMENT_VALUES,
    LEGACY_DEVELOPMENT_PAYLOAD_KEY,
    Process,
    check_secrets,
    development_secrets,
)
from config.settings import Settings, SettingsError
from devstack.secrets import load_or_create

KEY = base64.b64encode(bytes(range(32))).decode()
GOOD = {
    "JWT_SECRET": "j" * 16 + "w" * 16 + "t" * 8,
    "PAYLOAD_KEYS": f"k1:{KEY}",
    "SERVICE_SECRET": "s" * 20 + "e" * 20,
}


def _check(process: Process = Process.API, **env: str) -> None:
    check_secrets(
        Settings.from_env({name: value for name, value in {**GOOD, **env}.items() if value}), process
    )


def test_good_secrets_pass() -> None:
    _check(Process.API)
    _check(Process.WORKER)


@pytest.mark.parametrize("name", ["JWT_SECRET", "PAYLOAD_KEYS", "SERVICE_SECRET"])
def test_a_missing_secret_names_its_variable(name: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name} is not set"):
        _check(**{name: ""})


def test_the_worker_needs_no_jwt_secret() -> None:
    _check(Process.WORKER, JWT_SECRET="")


@pytest.mark.parametrize("value", sorted(KNOWN_DEVELOPMENT_VALUES - {LEGACY_DEVELOPMENT_PAYLOAD_KEY}))
@pytest.mark.parametrize("name", ["JWT_SECRET", "SERVICE_SECRET"])
def test_values_published_in_the_source_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"^{name} is a development value"):
        _check(**{name: value})


def test_short_secrets_are_refused() -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET must be at least 32"):
        _check(JWT_SECRET="x" * 31)


def test_the_development_payload_key_may_decrypt_but_never_encrypt() -> None:
    legacy = f"dev:{LEGACY_DEVELOPMENT_PAYLOAD_KEY}"
    _check(PAYLOAD_KEYS=f"k1:{KEY},{legacy}")
    with pytest.raises(SettingsError, match="PAYLOAD_ACTIVE_KEY names a development key"):
        _check(PAYLOAD_KEYS=legacy)
    with pytest.raises(SettingsError, match="PAYLOAD_ACTIVE_KEY names a development key"):
        _check(PAYLOAD_KEYS=f"k1:{KEY},{legacy}", PAYLOAD_ACTIVE_KEY="dev")


def test_an_active_key_that_is_not_random_is_refused() -> None:
    with pytest.raises(SettingsError, match="random bytes"):
        _check(PAYLOAD_KEYS=f"k1:{base64.b64encode(bytes(32)).decode()}")
    with pytest.raises(SettingsError, match="not one of PAYLOAD_KEYS"):
        _check(PAYLOAD_ACTIVE_KEY="k9")


def test_make_run_generates_secrets_once_per_data_dir(tmp_path: Path) -> None:
    first = load_or_create(tmp_path, {})
    path = tmp_path / DEVELOPMENT_SECRETS_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create(tmp_path, {}) == first == development_secrets(tmp_path)
    assert set(first) == {
        "JWT_SECRET",
        "PAYLOAD_KEYS",
        "PAYLOAD_ACTIVE_KEY",
        "SERVICE_SECRET",
        "CODEC_DEVELOPMENT_KEY",
    }
    # What it generated passes the production checks: nothing in it is published anywhere.
    check_secrets(Settings.from_env(first), Process.API)
    other = tmp_path / "other"
    other.mkdir()
    assert load_or_create(other, {})["JWT_SECRET"] != first["JWT_SECRET"]


def test_the_environment_wins_over_the_stored_secrets(tmp_path: Path) -> None:
    load_or_create(tmp_path, {})
    chosen = load_or_create(tmp_path, {"JWT_SECRET": "mine-" * 8, "PAYLOAD_KEYS": f"k1:{KEY}"})
    assert chosen["JWT_SECRET"] == "mine-" * 8
    assert chosen["PAYLOAD_KEYS"] == f"k1:{KEY}"
    # The environment's own keys: its first key encrypts, not the stored active one.
    assert "PAYLOAD_ACTIVE_KEY" not in chosen


def test_an_earlier_stack_keeps_its_histories_readable(tmp_path: Path) -> None:
    (tmp_path / "temporal.db").write_bytes(b"")
    generated = load_or_create(tmp_path, {})
    assert generated["PAYLOAD_KEYS"].endswith(f",dev:{LEGACY_DEVELOPMENT_PAYLOAD_KEY}")
    assert generated["PAYLOAD_ACTIVE_KEY"] != "dev"
    check_secrets(Settings.from_env(generated), Process.WORKER)


def test_a_damaged_secrets_file_reads_as_none(tmp_path: Path) -> None:
    (tmp_path / DEVELOPMENT_SECRETS_FILE).write_text("{not json")
    assert development_secrets(tmp_path) == {}
    (tmp_path / DEVELOPMENT_SECRETS_FILE).write_text(json.dumps(["list"]))
    assert development_secrets(tmp_path) == {}


def test_a_data_dir_of_an_earlier_version_keeps_its_secrets_and_gains_the_new_ones(tmp_path: Path) -> None:
    older = {"JWT_SECRET": "j" * 40, "PAYLOAD_KEYS": f"k1:{KEY}", "SERVICE_SECRET": "s" * 40}
    (tmp_path / DEVELOPMENT_SECRETS_FILE).write_text(json.dumps(older))
    now = load_or_create(tmp_path, {})
    assert {name: now[name] for name in older} == older
    assert len(now["CODEC_DEVELOPMENT_KEY"]) >= 32


def test_the_development_codec_key_is_for_loopback_only() -> None:
    key = {"CODEC_DEVELOPMENT_KEY": "c" * 40}
    _check(Process.API, **key)
    with pytest.raises(SettingsError, match=r"CODEC_DEVELOPMENT_KEY .* loopback"):
        _check(Process.API, HTTP_HOST="0.0.0.0", **key)


def test_an_identity_provider_alone_needs_no_jwt_secret() -> None:
    _check(Process.API, JWT_SECRET="", JWT_JWKS_URL="https://idp.example.test/jwks")
    _check(Process.API, JWT_SECRET="", JWT_ISSUER="https://idp.example.test/realms/cc")
    # An issuer that is no URL only names who signs HS256 tokens: a secret is still needed.
    with pytest.raises(SettingsError, match="JWT_SECRET is not set"):
        _check(Process.API, JWT_SECRET="", JWT_ISSUER="cli-test")

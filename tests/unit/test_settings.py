from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from config.settings import Settings, SettingsError, to_sqlalchemy_url


def test_defaults() -> None:
    settings = Settings.from_env({})

    assert settings.http_port == 8000
    # This machine only, unless the operator opens it (the image does: HTTP_HOST=0.0.0.0).
    assert settings.http_host == "127.0.0.1"
    assert settings.metrics_host == "127.0.0.1"
    assert settings.api_metrics_port is None
    assert settings.data_dir == Path(".data").resolve()
    # No secret has a default (config.secrets refuses to start without them).
    assert settings.jwt_secret is None
    assert settings.payload_keys is None
    assert settings.payload_active_key is None
    assert settings.service_secret is None
    assert settings.rate_limits == {}
    assert settings.jwt_audience is None
    assert settings.jwt_issuer is None
    assert settings.temporal_port == 7233
    assert settings.temporal_ui_port == 8233
    assert settings.smtp_port == 1025
    assert settings.temporal_namespace == "default"
    assert settings.task_queue == "appointments"
    assert settings.room_base_url == "http://localhost:8000/rooms"
    assert settings.end_grace == timedelta(minutes=60)
    # Nothing external: every server is the embedded one.
    assert settings.database_url_override is None
    assert settings.temporal_address_override is None
    assert settings.smtp_host_override is None
    assert settings.temporal_address == "127.0.0.1:7233"
    assert settings.smtp_host == "127.0.0.1"
    assert settings.postgres_dir == settings.data_dir / "postgres"
    assert settings.mail_dir == settings.data_dir / "mail"
    assert settings.database_url.startswith("postgresql+asyncpg://")
    assert f"host={settings.postgres_dir}" in settings.database_url


def test_overrides(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "HTTP_PORT": "9000",
            "DATA_DIR": str(tmp_path),
            "JWT_SECRET": "s3cret",
            "JWT_AUDIENCE": "appointments",
            "JWT_ISSUER": "https://idp.example.com",
            "TEMPORAL_PORT": "17233",
            "TEMPORAL_UI_PORT": "18233",
            "SMTP_PORT": "2525",
            "DATABASE_URL": "postgresql://app:pw@db.example.com:5432/appointments",
            "TEMPORAL_ADDRESS": "temporal.example.com:7233",
            "SMTP_HOST": "mail.example.com",
            "TEMPORAL_NAMESPACE": "contact-center",
            "TEMPORAL_TASK_QUEUE": "appointments-eu",
            "ROOM_BASE_URL": "https://video.example.com/q/",
            "END_GRACE_MINUTES": "15",
        }
    )

    assert settings.http_port == 9000
    assert settings.data_dir == tmp_path.resolve()
    assert settings.jwt_secret == "s3cret"
    assert settings.jwt_audience == "appointments"
    assert settings.jwt_issuer == "https://idp.example.com"
    assert settings.temporal_port == 17233
    assert settings.temporal_ui_port == 18233
    assert settings.smtp_port == 2525
    assert settings.database_url == "postgresql+asyncpg://app:pw@db.example.com:5432/appointments"
    assert settings.temporal_address == "temporal.example.com:7233"
    assert settings.smtp_host == "mail.example.com"
    assert settings.temporal_namespace == "contact-center"
    assert settings.task_queue == "appointments-eu"
    assert settings.room_base_url == "https://video.example.com/q"
    assert settings.end_grace == timedelta(minutes=15)


def test_worker_tuning_defaults_and_ranges() -> None:
    assert Settings.from_env({}).worker_max_cached_workflows == 1000
    assert Settings.from_env({}).worker_max_concurrent_workflow_tasks == 32
    assert Settings.from_env({}).worker_workflow_sandbox is False
    assert Settings.from_env({"WORKER_WORKFLOW_SANDBOX": "true"}).worker_workflow_sandbox is True
    assert Settings.from_env({"WORKER_MAX_CACHED_WORKFLOWS": "100000"}).worker_max_cached_workflows == 100_000


def test_room_base_url_follows_http_port() -> None:
    assert Settings.from_env({"HTTP_PORT": "8080"}).room_base_url == "http://localhost:8080/rooms"


def test_empty_values_mean_unset() -> None:
    settings = Settings.from_env({"HTTP_PORT": "", "DATABASE_URL": " ", "SMTP_HOST": "", "JWT_SECRET": ""})

    assert settings.http_port == 8000
    assert settings.database_url_override is None
    assert settings.smtp_host_override is None
    assert settings.jwt_secret is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("1", True), ("true", True), ("YES", True), ("on", True), ("0", False), ("off", False), ("", False)],
)
def test_yes_no_settings_parse_alike(raw: str, expected: bool) -> None:
    settings = Settings.from_env({"SMTP_STARTTLS": raw, "WEBHOOKS_ALLOW_LOOPBACK": raw})
    assert settings.smtp_starttls is expected
    assert settings.webhooks_allow_loopback is expected


def test_an_unknown_yes_no_value_is_an_error_not_a_silent_no() -> None:
    with pytest.raises(SettingsError, match="SMTP_STARTTLS"):
        Settings.from_env({"SMTP_STARTTLS": "maybe"})


def test_rate_limit_overrides() -> None:
    settings = Settings.from_env({"RATE_LIMITS": "public-read=600, otp-client=20"})
    assert settings.rate_limits == {"public-read": 600, "otp-client": 20}
    for raw in ("public-read", "public-read=0", "=5", "public-read=many"):
        with pytest.raises(SettingsError, match="RATE_LIMITS"):
            Settings.from_env({"RATE_LIMITS": raw})


def test_listeners_and_metrics_ports() -> None:
    settings = Settings.from_env({"HTTP_HOST": "0.0.0.0", "METRICS_HOST": "::", "API_METRICS_PORT": "9465"})
    assert (settings.http_host, settings.metrics_host, settings.api_metrics_port) == ("0.0.0.0", "::", 9465)
    assert Settings.from_env({"API_METRICS_PORT": "0"}).api_metrics_port is None


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HTTP_PORT", "http"),
        ("SMTP_PORT", "-1"),
        ("TEMPORAL_PORT", "70000"),
        ("END_GRACE_MINUTES", "1h"),
        ("WORKER_MAX_CACHED_WORKFLOWS", "2000000"),
        ("WORKER_MAX_CONCURRENT_WORKFLOW_TASKS", "1"),
    ],
)
def test_invalid_integers_are_rejected(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


@pytest.mark.parametrize(
    "url",
    ["postgresql://u@h/db", "postgres://u@h/db", "postgresql+asyncpg://u@h/db"],
)
def test_database_url_pins_asyncpg(url: str) -> None:
    assert to_sqlalchemy_url(url) == "postgresql+asyncpg://u@h/db"


def test_database_url_of_another_database_is_rejected() -> None:
    with pytest.raises(SettingsError):
        Settings.from_env({"DATABASE_URL": "mysql://u@h/db"}).database_url  # noqa: B018


def _profile_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "temporal.toml"
    path.write_text(text)
    return str(path)


def test_the_temporal_client_reads_temporals_profile_file(tmp_path: Path) -> None:
    config = _profile_file(
        tmp_path,
        '[profile.default]\naddress = "local:7233"\n\n'
        '[profile.cloud]\naddress = "ns.acct.tmprl.cloud:7233"\nnamespace = "ns.acct"\napi_key = "key"\n'
        '[profile.cloud.grpc_meta]\nx-team = "contact-center"\n',
    )

    default = Settings.from_env({"TEMPORAL_CONFIG_FILE": config})
    cloud = Settings.from_env({"TEMPORAL_CONFIG_FILE": config, "TEMPORAL_PROFILE": "cloud"})

    assert (default.temporal_address, default.temporal_namespace) == ("local:7233", "default")
    assert (cloud.temporal_address, cloud.temporal_namespace) == ("ns.acct.tmprl.cloud:7233", "ns.acct")
    assert cloud.temporal_profile.get("api_key") == "key"
    assert cloud.temporal_profile.get("grpc_meta") == {"x-team": "contact-center"}


def test_temporal_variables_override_the_profile_file(tmp_path: Path) -> None:
    config = _profile_file(tmp_path, '[profile.default]\naddress = "file:7233"\nnamespace = "file"\n')

    settings = Settings.from_env(
        {"TEMPORAL_CONFIG_FILE": config, "TEMPORAL_ADDRESS": "env:7233", "TEMPORAL_NAMESPACE": "env"}
    )

    assert (settings.temporal_address, settings.temporal_namespace) == ("env:7233", "env")
    assert settings.temporal_address_override == "env:7233"


def test_the_services_tls_names_are_the_clis_names(tmp_path: Path) -> None:
    cert, key, ca = (tmp_path / name for name in ("client.pem", "client.key", "ca.pem"))
    for path in (cert, key, ca):
        path.write_text("-----BEGIN TEST-----\n")
    old = Settings.from_env(
        {"TEMPORAL_TLS_CERT": str(cert), "TEMPORAL_TLS_KEY": str(key), "TEMPORAL_TLS_CA": str(ca)}
    )
    new = Settings.from_env(
        {
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(cert),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(key),
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(ca),
        }
    )
    assert old.temporal_profile == new.temporal_profile
    assert old.temporal_profile.get("tls", {}).get("client_cert") == {"path": str(cert)}


@pytest.mark.parametrize(("raw", "disabled"), [("on", False), ("YES", False), ("1", False), ("off", True)])
def test_temporal_tls_takes_every_spelling_of_yes_and_no(raw: str, disabled: bool) -> None:
    tls = Settings.from_env({"TEMPORAL_TLS": raw}).temporal_profile.get("tls", {})
    assert tls.get("disabled") is disabled


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TEMPORAL_TLS": "maybe"}, "TEMPORAL_TLS"),
        ({"TEMPORAL_PROFILE": "nowhere"}, "TEMPORAL_PROFILE"),
        ({"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"}, "TEMPORAL_CONFIG_FILE"),
        ({"TEMPORAL_TLS_CERT": "/nonexistent/client.pem"}, "TEMPORAL_TLS_CLIENT_CERT_PATH"),
        ({"TEMPORAL_TLS_CA": "/a.pem", "TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/b.pem"}, "TEMPORAL_TLS_CA"),
    ],
)
def test_a_temporal_client_setting_that_cannot_work_stops_the_start(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_a_broken_profile_file_stops_the_start(tmp_path: Path) -> None:
    config = _profile_file(tmp_path, "[profile.default\naddress = 1\n")
    with pytest.raises(SettingsError, match="TEMPORAL_CONFIG_FILE"):
        Settings.from_env({"TEMPORAL_CONFIG_FILE": config})

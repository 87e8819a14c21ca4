"""JSON log lines: the fields, Temporal's workflow/activity context flattened, the settings."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from temporalio import activity, workflow
from temporalio.testing import ActivityEnvironment

from config.logs import JsonFormatter, TextFormatter, appointment_id_of, configure_logging
from config.settings import Settings, SettingsError


def _record(message: str = "hello %s", *args: object, **extra: Any) -> logging.LogRecord:
    logger = logging.getLogger("tests.logs")
    args = args or (("world",) if "%s" in message else ())
    return logger.makeRecord(logger.name, logging.INFO, __file__, 1, message, args, None, extra=extra)


def _json(record: logging.LogRecord) -> dict[str, Any]:
    line = JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


def test_a_line_is_one_json_object_with_the_standard_fields() -> None:
    entry = _json(_record(method="GET", status=200))
    assert entry["message"] == "hello world"
    assert entry["level"] == "INFO"
    assert entry["logger"] == "tests.logs"
    assert entry["timestamp"].endswith("Z")
    stamp = datetime.fromisoformat(entry["timestamp"].replace("Z", "+00:00"))
    assert stamp.tzinfo is not None and stamp.utcoffset() == UTC.utcoffset(None)
    assert abs((datetime.now(UTC) - stamp).total_seconds()) < 60
    assert entry["method"] == "GET" and entry["status"] == 200
    # Nothing of LogRecord's own bookkeeping leaks into the line.
    assert not {"args", "msg", "levelno", "pathname", "created", "thread"} & entry.keys()


def test_the_workflow_logger_context_is_flattened_with_the_appointment_id() -> None:
    context = {
        "attempt": 1,
        "namespace": "default",
        "run_id": "run-1",
        "task_queue": "appointments",
        "workflow_id": "appointment-3f0c6d1e",
        "workflow_type": "AppointmentWorkflow",
        "update_name": "reschedule",
    }
    entry = _json(_record("reminder skipped", temporal_workflow=context))
    assert entry["workflow_id"] == "appointment-3f0c6d1e"
    assert entry["appointment_id"] == "3f0c6d1e"
    assert entry["run_id"] == "run-1" and entry["update_name"] == "reschedule"
    assert "temporal_workflow" not in entry


def test_the_activity_logger_context_is_flattened_too() -> None:
    context = {
        "activity_id": "3",
        "activity_type": "project",
        "attempt": 2,
        "workflow_id": "appointment-42",
        "workflow_run_id": "run-9",
        "workflow_type": "AppointmentWorkflow",
    }
    entry = _json(_record("projected", temporal_activity=context))
    assert (entry["workflow_id"], entry["appointment_id"], entry["activity_type"]) == (
        "appointment-42",
        "42",
        "project",
    )


def test_other_workflow_ids_carry_no_appointment_id() -> None:
    entry = _json(_record(temporal_workflow={"workflow_id": "replay-check"}))
    assert entry["workflow_id"] == "replay-check" and "appointment_id" not in entry
    assert appointment_id_of("appointment-") is None
    assert appointment_id_of(None) is None


def test_exceptions_and_odd_values_stay_on_one_line() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.getLogger("x").makeRecord(
            "x",
            logging.ERROR,
            __file__,
            1,
            "failed",
            (),
            sys.exc_info(),
            extra={"when": datetime(2025, 1, 1)},
        )
    entry = _json(record)
    assert "ValueError: boom" in entry["exception"]
    assert entry["when"] == "2025-01-01 00:00:00"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    on_message = (workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message)
    yield
    for handler in root.handlers[:]:
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)
    workflow.logger.workflow_info_on_message, activity.logger.activity_info_on_message = on_message


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.usefixtures("restored_logging")
async def test_lines_logged_inside_an_activity_carry_its_workflow_and_appointment() -> None:
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)

    async def project() -> None:
        activity.logger.info("projected version %s", 3)
        logging.getLogger("mail.sender").warning("smtp slow")

    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="appointment-abc", activity_type="project")
    await env.run(project)

    sdk_line, other_line = _lines(stream)
    # The SDK's context is in the fields, not appended to the message.
    assert sdk_line["message"] == "projected version 3"
    for line in (sdk_line, other_line):
        assert line["workflow_id"] == "appointment-abc"
        assert line["appointment_id"] == "abc"
        assert line["activity_type"] == "project"
    assert other_line["logger"] == "mail.sender" and other_line["level"] == "WARNING"


@pytest.mark.usefixtures("restored_logging")
def test_configure_logging_routes_uvicorn_and_respects_the_level() -> None:
    stream = io.StringIO()
    configure_logging("WARNING", json=True, stream=stream)
    logging.getLogger("uvicorn.error").warning("port busy")
    logging.getLogger("api.requests").info("GET /health 200")
    [line] = _lines(stream)
    assert (line["logger"], line["message"]) == ("uvicorn.error", "port busy")

    text = io.StringIO()
    configure_logging("INFO", json=False, stream=text)
    logging.getLogger("temporalio.workflow").info(
        "hi", extra={"temporal_workflow": {"workflow_id": "appointment-7", "update_name": "reschedule"}}
    )
    logging.getLogger("temporalio.workflow").info(
        "other", extra={"temporal_workflow": {"workflow_id": "w-1"}}
    )
    first, second = text.getvalue().splitlines()
    assert first.endswith("temporalio.workflow: hi [appointment_id=7 update_name=reschedule]")
    assert second.endswith("temporalio.workflow: other [workflow_id=w-1]")


def test_text_formatter_keeps_tracebacks_below_the_line() -> None:
    try:
        raise RuntimeError("x")
    except RuntimeError:
        record = logging.getLogger("t").makeRecord(
            "t",
            logging.ERROR,
            __file__,
            1,
            "oops",
            (),
            sys.exc_info(),
            extra={
                "temporal_activity": {"workflow_id": "appointment-1", "activity_type": "send", "attempt": 3}
            },
        )
    first, *rest = TextFormatter().format(record).splitlines()
    assert first.endswith("oops [appointment_id=1 activity_type=send attempt=3]")
    assert rest[-1] == "    | RuntimeError: x"
    assert all(line.startswith("    | ") for line in rest)


def test_text_lines_cannot_be_forged_by_what_a_client_sent() -> None:
    forged = "title\n2026-01-01T00:00:00.000Z INFO api: forged\u2028x\r\x1b[31m"
    try:
        raise ValueError(forged)
    except ValueError:
        record = logging.getLogger("t").makeRecord(
            "t", logging.WARNING, __file__, 1, "got %s", (forged,), sys.exc_info(), extra={}
        )
    text = TextFormatter().format(record)
    lines = text.split("\n")
    assert len(lines[0].splitlines()) == 1 and "\\n2026-01-01" in lines[0] and "\\u2028" in lines[0]
    assert "\x1b" not in text and "\r" not in text
    # The traceback repeats the value, escaped and indented below its record.
    assert all(line.startswith("    | ") for line in lines[1:])
    assert not any(line.startswith("2026-01-01") for line in text.splitlines())


def test_observability_settings_defaults_and_errors() -> None:
    defaults = Settings.from_env({})
    assert (defaults.log_level, defaults.log_format, defaults.worker_metrics_port) == ("INFO", "json", 9464)
    custom = Settings.from_env({"LOG_LEVEL": "warn", "LOG_FORMAT": "TEXT", "WORKER_METRICS_PORT": "9100"})
    assert (custom.log_level, custom.log_format, custom.worker_metrics_port) == ("WARNING", "text", 9100)
    assert Settings.from_env({"WORKER_METRICS_PORT": "0"}).worker_metrics_port is None
    # Empty means unset, as for every other variable (compose passes `${VAR:-}`).
    assert Settings.from_env({"WORKER_METRICS_PORT": "", "LOG_FORMAT": ""}).worker_metrics_port == 9464
    for env in ({"LOG_LEVEL": "loud"}, {"LOG_FORMAT": "xml"}, {"WORKER_METRICS_PORT": "x"}):
        with pytest.raises(SettingsError):
            Settings.from_env(env)

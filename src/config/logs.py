"""Logging of the API and the worker: one JSON object per line (LOG_FORMAT=json) or plain text.

Every JSON line holds `timestamp` (ISO 8601, UTC), `level`, `logger` and `message`, then the
record's extra fields. The Temporal SDK's workflow and activity loggers attach their context as a
`temporal_workflow` / `temporal_activity` dict; those are flattened into top-level fields
(`workflow_id`, `run_id`, `activity_type`, ...), and `appointment_id` is derived from a workflow id
of the form `appointment-<id>`. Lines logged by any other logger while an activity runs (the mail
sender, SQLAlchemy, ...) get the same fields from the activity's context. While a span is current
(tracing on, config.tracing), a JSON line also holds its `trace_id` and `span_id` (lowercase hex, as
in W3C `traceparent`), so the line is found from its trace and the trace from the line.
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace
from temporalio import activity, workflow

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
FORMATS = ("json", "text")
WORKFLOW_ID_PREFIX = "appointment-"

# Attributes every LogRecord has: whatever else a record carries came in through `extra`.
_RECORD_ATTRIBUTES = frozenset(
    logging.LogRecord("", logging.INFO, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
# Extras that only repeat the message in another form (uvicorn's coloured copy) or are objects
# that have a readable flattened form below.
_DROPPED_EXTRAS = frozenset({"color_message", "workflow_info", "activity_info", "temporal_log"})
_TEMPORAL_CONTEXTS = ("temporal_workflow", "temporal_activity")


def _utc_timestamp(record: logging.LogRecord) -> str:
    """`2025-01-01T09:00:00.123Z`."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.isoformat(timespec="milliseconds").removesuffix("+00:00") + "Z"


def appointment_id_of(workflow_id: object) -> str | None:
    """`appointment-<id>` -> `<id>`; None for any other workflow id."""
    if isinstance(workflow_id, str) and workflow_id.startswith(WORKFLOW_ID_PREFIX):
        return workflow_id[len(WORKFLOW_ID_PREFIX) :] or None
    return None


def _activity_context() -> Mapping[str, Any] | None:
    """The running activity's ids, for records logged from its code by other loggers."""
    if not activity.in_activity():
        return None
    info = activity.info()
    return {
        "activity_id": info.activity_id,
        "activity_type": info.activity_type,
        "attempt": info.attempt,
        "workflow_id": info.workflow_id,
        "workflow_run_id": info.workflow_run_id,
        "workflow_type": info.workflow_type,
    }


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The record's extra fields, Temporal contexts flattened, `appointment_id` added."""
    fields: dict[str, Any] = {}
    for name in _TEMPORAL_CONTEXTS:
        context = record.__dict__.get(name)
        if isinstance(context, Mapping):
            fields.update(context)
    if "workflow_id" not in fields and (context := _activity_context()) is not None:
        fields.update(context)
    if (core := record.__dict__.get("temporal_log")) is not None:
        fields["core_target"] = getattr(core, "target", None)
    for name, value in record.__dict__.items():
        if name in _RECORD_ATTRIBUTES or name in _DROPPED_EXTRAS or name in _TEMPORAL_CONTEXTS:
            continue
        fields[name] = value
    if "appointment_id" not in fields and (appointment_id := appointment_id_of(fields.get("workflow_id"))):
        fields["appointment_id"] = appointment_id
    return fields


def trace_fields(span: trace.Span) -> dict[str, str]:
    """`trace_id` and `span_id` of `span`; nothing for the invalid span of no trace."""
    context = span.get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": _utc_timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(trace_fields(trace.get_current_span()))
        for name, value in record_fields(record).items():
            entry.setdefault(name, value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return jsonlib.dumps(entry, default=str, ensure_ascii=False)


def escape_controls(text: str) -> str:
    """`text` with every control character and line break written as an escape (`\\n`, `\\x1b`,
    `\\u2028`), as JSON lines write them: a value a client sent cannot start a line of its own."""
    return _CONTROL.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    char = match.group(0)
    return _SHORT_ESCAPES.get(char) or (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Lines of a traceback are indented below their record, so none can pass for a record of its own.
_CONTINUATION = "    | "


class TextFormatter(logging.Formatter):
    """`2025-01-01T09:00:00.000Z INFO logger: message [appointment_id=... activity_type=...]`.

    The bracket names the appointment (or, for other workflows, the workflow id) and the activity
    or update the line comes from. The message and the bracket are one line whatever they hold
    (`escape_controls`); a traceback follows on indented lines.
    """

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return _utc_timestamp(record)

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {record.getMessage()}"
        fields = record_fields(record)
        keys = ("appointment_id",) if fields.get("appointment_id") else ("workflow_id",)
        keys += ("activity_type", "update_name")
        ids = [f"{key}={fields[key]}" for key in keys if fields.get(key)]
        if isinstance(attempt := fields.get("attempt"), int) and attempt > 1:
            ids.append(f"attempt={attempt}")
        if ids:
            line = f"{line} [{' '.join(ids)}]"
        lines = [escape_controls(line)]
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        for block in (record.exc_text, record.stack_info and self.formatStack(record.stack_info)):
            if block:
                lines.extend(_CONTINUATION + escape_controls(part) for part in block.splitlines())
        return "\n".join(lines)


def parse_level(raw: str | None) -> str:
    """LOG_LEVEL: a standard level name, any case; WARN is WARNING."""
    level = (raw or "INFO").strip().upper()
    level = "WARNING" if level == "WARN" else level
    if level not in LEVELS:
        raise ValueError(f"LOG_LEVEL must be one of {', '.join(LEVELS)}, got {raw!r}")
    return level


def configure_logging(level: str = "INFO", *, json: bool, stream: TextIO | None = None) -> None:
    """Route every logger (uvicorn's, Litestar's, Temporal's) through one root handler.

    Replaces the root logger's handlers, so calling it again switches format or level.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if json else TextFormatter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(parse_level(level))
    # uvicorn's loggers keep their own handlers when it configured them: send them to the root.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    # The workflow/activity context goes into the fields (JSON) or the bracket (text): the SDK's
    # dict appended to every message would only repeat it.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False

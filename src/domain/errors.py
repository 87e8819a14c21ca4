"""Rule violations, each with the HTTP-agnostic kind the API maps to a status code."""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    INVALID = "INVALID"  # 400
    FORBIDDEN = "FORBIDDEN"  # 403
    NOT_FOUND = "NOT_FOUND"  # 404
    CONFLICT = "CONFLICT"  # 409
    TOO_LARGE = "TOO_LARGE"  # 413: beyond a bound on size or count (domain.limits)
    UNPROCESSABLE = "UNPROCESSABLE"  # 422: well-formed, but contradicts an earlier request
    UNAVAILABLE = "UNAVAILABLE"  # 503: what the change needs (the database, a room) did not answer


class DomainError(Exception):
    """A request the rules refuse; `field` names the offending input when there is one."""

    def __init__(self, kind: ErrorKind, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"DomainError({self.kind}, {self.message!r}, field={self.field!r})"

    def without_prefix(self, prefix: str) -> DomainError:
        """The same error about a field named without `prefix` (`textBody`, not `templates[0].textBody`)."""
        field = self.field[len(prefix) :] if self.field and self.field.startswith(prefix) else self.field
        return DomainError(self.kind, self.message.replace(prefix, ""), field)


def invalid(field: str, message: str) -> DomainError:
    return DomainError(ErrorKind.INVALID, message, field)


def not_found(message: str = "appointment not found") -> DomainError:
    return DomainError(ErrorKind.NOT_FOUND, message)


def forbidden(message: str) -> DomainError:
    return DomainError(ErrorKind.FORBIDDEN, message)


def conflict(message: str, field: str | None = None) -> DomainError:
    return DomainError(ErrorKind.CONFLICT, message, field)


def too_large(field: str, message: str) -> DomainError:
    return DomainError(ErrorKind.TOO_LARGE, message, field)


def unprocessable(field: str, message: str) -> DomainError:
    return DomainError(ErrorKind.UNPROCESSABLE, message, field)


SHOWN_LENGTH = 80


def shown(raw: object) -> str:
    """`raw` as an error message quotes it: its repr, cut short, so that no answer echoes a huge input."""
    text = repr(raw)
    return text if len(text) <= SHOWN_LENGTH else f"{text[: SHOWN_LENGTH - 1]}…"

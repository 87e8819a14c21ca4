"""How a workflow turns the domain's refusals into Update failures the API maps to statuses."""

from collections.abc import Callable
from typing import TypeVar

from temporalio.exceptions import ApplicationError

from domain.errors import DomainError

T = TypeVar("T")


def refusal(error: DomainError) -> ApplicationError:
    return ApplicationError(
        error.message,
        {"kind": error.kind.value, "field": error.field},
        type=error.kind.value,
        non_retryable=True,
    )


def judge(rule: Callable[[], T]) -> T:
    """Run a domain rule, turning its refusal into a failure the API can map to a status."""
    try:
        return rule()
    except DomainError as error:
        raise refusal(error) from None

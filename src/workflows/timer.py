"""The updatable timer: sleep until a deadline, or until something makes the deadline move.

The workflow's main loop plans its next deadline (a reminder, the end of interaction, a
follow-up), sleeps on it, and is woken early by every change (which may move the deadline) and by
the time to continue as new; then it plans again.
"""

from collections.abc import Callable
from datetime import datetime, timedelta

from temporalio import workflow


class UpdatableTimer:
    def __init__(self, interrupted: Callable[[], bool]) -> None:
        self._woken = False
        self._interrupted = interrupted

    def wake(self) -> None:
        """Something changed: the sleeper plans again."""
        self._woken = True

    async def sleep_until(self, deadline: datetime, reason: str) -> bool:
        """True when `deadline` passed, False when woken first."""
        self._woken = False
        try:
            await workflow.wait_condition(
                lambda: self._woken or self._interrupted(),
                timeout=max(deadline - workflow.now(), timedelta(0)),
                timeout_summary=reason,
            )
        except TimeoutError:
            return True
        return False

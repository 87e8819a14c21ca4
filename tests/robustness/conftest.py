"""The robustness tests run against the same real stack as the API tests (tests/api/conftest.py);
the session servers they stand on come from tests/conftest.py."""

from collections.abc import Iterator

import psutil
import pytest

from tests.api.conftest import application_id, auth, http, stack  # noqa: F401


@pytest.fixture
def no_leftovers(database_url: str) -> Iterator[None]:
    """The test leaves no process of its own behind (checked after the session's PostgreSQL is up;
    the session's other servers, being of a wider scope, are up before it too)."""
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    yield
    left = [
        p
        for p in psutil.Process().children(recursive=True)
        if p.pid not in before and p.is_running() and p.status() != psutil.STATUS_ZOMBIE
    ]
    assert not left, f"processes left running: {[(p.pid, p.cmdline()) for p in left]}"

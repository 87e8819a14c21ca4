"""The robustness tests run against the same real stack as the API tests (tests/api/conftest.py);
the session servers they stand on come from tests/conftest.py."""

from tests.api.conftest import application_id, auth, http, stack  # noqa: F401

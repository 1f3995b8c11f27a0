"""Fault tests run the real processes, as the end-to-end tests do, and injure them."""

from tests.e2e.conftest import start_service  # noqa: F401 - the fixture, shared

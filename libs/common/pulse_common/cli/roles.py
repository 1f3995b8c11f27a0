"""``pulse run ROLE``: the container image's entrypoint. One image, the command picks what it runs; each role is
the same command the local stack and the tests run."""

from __future__ import annotations

import os
import sys

# role -> the module run with ``python -m`` and its arguments. (migrate runs inline: see the CLI.)
SERVICE_ROLES: dict[str, tuple[str, ...]] = {
    "ingest": ("pulse_ingest",),
    "metrics-api": ("pulse_metrics", "api"),
    "metrics-consumer": ("pulse_metrics", "consumer"),
    "feedback-api": ("pulse_feedback", "api"),
    "feedback-consumer": ("pulse_feedback", "consumer"),
}
ROLES = (*SERVICE_ROLES, "migrate")


def exec_service(role: str) -> None:
    """Replace this process with the role's (signals then reach the service itself, as Kubernetes expects)."""
    module, *args = SERVICE_ROLES[role]
    os.execv(sys.executable, [sys.executable, "-m", module, *args])  # noqa: S606 - a fixed argv, no shell wanted

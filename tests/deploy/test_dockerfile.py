"""The Dockerfile, checked for what a linter would catch and what the Kubernetes manifests rely on (hadolint is
not available here): multi-stage, pinned base, no root at run time, nothing written at run time, one entrypoint
whose roles the manifests use, and a build context without local state."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pulse_common.cli.roles import ROLES

ROOT = Path(__file__).resolve().parents[2]


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", (ROOT / "Dockerfile").read_text())
    found = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            found.append((keyword.upper(), rest.strip()))
    return found


def stages() -> list[list[tuple[str, str]]]:
    split: list[list[tuple[str, str]]] = []
    for keyword, rest in instructions():
        if keyword == "FROM":
            split.append([])
        if split:
            split[-1].append((keyword, rest))
    return split


def test_two_named_stages_from_a_pinned_slim_base() -> None:
    args = dict(rest.split("=", 1) for keyword, rest in instructions() if keyword == "ARG" and "=" in rest)
    built = stages()
    assert len(built) >= 2
    for stage in built:
        base = stage[0][1].split()[0]
        image = args.get(base.strip("${}"), base)
        assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-[a-z]+", image), image  # an exact version, never latest
        assert " AS " in stage[0][1], "every stage is named"
    final = built[-1]
    assert any(k == "COPY" and rest.startswith("--from=") for k, rest in final), "the runtime copies the build"
    assert not any(k == "RUN" and "pip install" in rest for k, rest in final), "nothing is built at run time"


def test_the_runtime_runs_as_an_unprivileged_user_and_writes_nothing() -> None:
    final = stages()[-1]
    users = [rest for keyword, rest in final if keyword == "USER"]
    assert users
    uid = users[-1].split(":")[0]
    assert uid.isdigit()
    assert int(uid) >= 10000  # numeric, so Kubernetes' runAsNonRoot can check it
    env = " ".join(rest for keyword, rest in final if keyword == "ENV")
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # no .pyc writes on a read-only root filesystem
    assert "PULSE_HOST=0.0.0.0" in env


def test_no_remote_add_no_pip_cache_and_no_apt_leftovers() -> None:
    for keyword, rest in instructions():
        assert keyword != "ADD", "COPY only: ADD fetches URLs and unpacks archives implicitly"
        if keyword == "RUN" and "pip install" in rest:
            assert "--no-cache-dir" in rest
        if keyword == "RUN" and "apt-get install" in rest:
            assert "--no-install-recommends" in rest
            assert "rm -rf /var/lib/apt/lists" in rest


def test_one_entrypoint_whose_roles_the_manifests_use() -> None:
    final = dict(stages()[-1])
    assert json.loads(final["ENTRYPOINT"]) == ["pulse", "run"]
    assert json.loads(final["CMD"])[0] in ROLES
    assert set(ROLES) == {"ingest", "metrics-api", "metrics-consumer", "feedback-api", "feedback-consumer", "migrate"}


def test_the_build_context_leaves_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".pulse"} <= ignored

"""The local stack: the embedded broker and every service as background processes, logs and pids in ``.pulse/``.

``up`` is idempotent (what runs is left running), ``down`` stops by pid what ``up`` started.
"""

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from pulse_common import broker
from pulse_common.cli.projects import migrate
from pulse_common.kafka import ensure_topics
from pulse_common.projects import create_project, find_key_owner, issue_keys
from pulse_common.settings import CommonSettings

DEMO_PROJECT = "demo"


class StackError(RuntimeError):
    pass


@dataclass(frozen=True)
class Component:
    name: str
    command: tuple[str, ...]
    port: int | None  # the HTTP port whose readiness path says it is up (APIs; consumers' health and metrics)
    ready_path: str = "/readyz"
    env: Mapping[str, str] = field(default_factory=dict)  # on top of the stack's environment


PROMETHEUS_CONFIG = Path("deploy/prometheus/prometheus-local.yml")


def _prometheus() -> Component:
    """Debian's prometheus (`make tools`), loopback only, scraping the stack with the production rules."""
    if not PROMETHEUS_CONFIG.exists():
        raise StackError(f"{PROMETHEUS_CONFIG} not found: run `make up PROMETHEUS=1` from the repository's root")
    return Component(
        "prometheus",
        (
            "prometheus",
            f"--config.file={PROMETHEUS_CONFIG.resolve()}",
            "--web.listen-address=127.0.0.1:9090",
            f"--storage.tsdb.path={state_dir() / 'prometheus'}",
            "--storage.tsdb.retention.time=2d",
        ),
        9090,
        "/-/ready",
    )


def state_dir() -> Path:
    return Path(os.environ.get("PULSE_STATE_DIR", ".pulse")).resolve()


ADOPTION = "metrics.adoption"


def _consumer(name: str, module: str, port: int, projections: list[str] | None = None) -> Component:
    env = {"PULSE_CONSUMER_PORT": str(port)}
    if projections is not None:
        env["PULSE_CONSUMER_PROJECTIONS"] = ",".join(projections)
    return Component(name, (sys.executable, "-m", module, "consumer"), port, env=env)


def metrics_consumer_split() -> tuple[list[str], list[str]]:
    """The metrics projections of each metrics consumer process as deployed (deploy/k8s): every one but adoption,
    then adoption, the heaviest, alone (in one process it held the daily counts' freshness back)."""
    from pulse_metrics.consumer import named_factories  # imported here: the services depend on this library
    from pulse_metrics.settings import MetricsSettings

    return [name for name in named_factories(MetricsSettings()) if name != ADOPTION], [ADOPTION]


def _services() -> tuple[Component, ...]:
    """The services as deployed, the metrics consumer split in two (``metrics_consumer_split``)."""
    others, adoption = metrics_consumer_split()
    py = sys.executable
    return (
        Component("ingest", (py, "-m", "pulse_ingest"), 8000),
        Component("metrics-api", (py, "-m", "pulse_metrics", "api"), 8001),
        _consumer("metrics-consumer", "pulse_metrics", 9101, others),
        _consumer("metrics-consumer-adoption", "pulse_metrics", 9103, adoption),
        Component("feedback-api", (py, "-m", "pulse_feedback", "api"), 8002),
        _consumer("feedback-consumer", "pulse_feedback", 9102),
    )


def _broker_port(settings: CommonSettings) -> int:
    host, _, port = settings.kafka_bootstrap.split(",")[0].rpartition(":")
    if host not in ("127.0.0.1", "localhost"):
        raise StackError(
            f"PULSE_KAFKA_BOOTSTRAP={settings.kafka_bootstrap}: the local stack runs its broker on loopback"
        )
    return int(port)


def _read_pid(name: str) -> int | None:
    path = state_dir() / f"{name}.pid"
    try:
        pid = int(path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        return pid
    # A pid can be reused by an unrelated process after a reboot: check that it is ours (the whole variable: one
    # component's name can begin another's).
    try:
        if f"PULSE_STACK_COMPONENT={name}".encode() not in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
            return None
    except OSError:
        return None
    return pid


def _spawn(name: str, command: tuple[str, ...], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = open(state_dir() / f"{name}.log", "ab")  # noqa: SIM115 - handed to the child
    process = subprocess.Popen(
        command,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
        env={**env, "PULSE_STACK_COMPONENT": name},
    )
    (state_dir() / f"{name}.pid").write_text(str(process.pid))
    return process


def _healthy(port: int, path: str = "/readyz") -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _log_tail(name: str, lines: int = 15) -> str:
    try:
        return "\n".join((state_dir() / f"{name}.log").read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def _wait_until_up(component: Component, process: subprocess.Popen[bytes], timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        # Our own child: poll() rather than _read_pid, whose environment check races the child's exec.
        if process.poll() is not None:
            raise StackError(f"{component.name} exited at start:\n{_log_tail(component.name)}")
        if component.port is None or _healthy(component.port, component.ready_path):
            return
        time.sleep(0.2)
    raise StackError(f"{component.name} is not ready after {timeout_s:.0f} s:\n{_log_tail(component.name)}")


async def _forget_offsets(settings: CommonSettings) -> None:
    """A freshly started embedded broker holds an empty log: stored offsets from an earlier one would skip its
    first events. Event ids already claimed still count once."""
    conn = await asyncpg.connect(settings.dsn)
    try:
        await conn.execute("UPDATE tracking.partition_offsets SET next_offset = 0, as_of = NULL, updated_at = now()")
    finally:
        await conn.close()


async def _demo_keys(settings: CommonSettings) -> dict[str, str]:
    keys_file = state_dir() / "demo-keys.json"
    conn = await asyncpg.connect(settings.dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM control.projects WHERE project = $1", DEMO_PROJECT)
        if exists and keys_file.exists():
            keys: dict[str, str] = json.loads(keys_file.read_text())
            # The database may have been recreated since the file was written: only keys it knows are shown.
            owner = await find_key_owner(conn, keys.get("read_key", ""))
            if owner is not None and owner.project == DEMO_PROJECT:
                return keys
        # Keys are shown once and stored only as hashes: a lost keys file means a new set of keys.
        created = await (issue_keys(conn, DEMO_PROJECT) if exists else create_project(conn, DEMO_PROJECT, "UTC"))
        if not exists:
            # The demo segments by plan (as `pulse generate` sets it): its segment reads come from rollups.
            from pulse_metrics.projections.segment_backfill import declare_trait

            await declare_trait(conn, DEMO_PROJECT, "plan")
    finally:
        await conn.close()
    keys = {
        "project": created.project,
        "timezone": created.timezone,
        "write_key": created.write_key,
        "read_key": created.read_key,
        "admin_key": created.admin_key,
    }
    keys_file.write_text(json.dumps(keys, indent=2))
    keys_file.chmod(0o600)
    return keys


def up(settings: CommonSettings, *, prometheus: bool = False) -> int:
    state_dir().mkdir(exist_ok=True)
    for line in asyncio.run(migrate(settings)):
        print(f"database: {line}")
    port = _broker_port(settings)
    if _read_pid("broker") is None:
        process = broker.start_broker(
            port,
            log_path=state_dir() / "broker.log",
            new_session=True,
            extra_env={"PULSE_STACK_COMPONENT": "broker"},
        )
        (state_dir() / "broker.pid").write_text(str(process.pid))
        asyncio.run(_forget_offsets(settings))
        print(f"broker: started on 127.0.0.1:{port} (pid {process.pid}, in memory: consumers start its new log at 0)")
    else:
        print(f"broker: running on 127.0.0.1:{port}")
    asyncio.run(ensure_topics(settings.kafka_bootstrap))
    env = {
        **os.environ,
        "PULSE_KAFKA_IDEMPOTENCE": "false",
        "PULSE_DATABASE_URL": settings.dsn,
        "PULSE_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
    }
    components = (*_services(), _prometheus()) if prometheus else _services()
    for component in components:
        if _read_pid(component.name) is None:
            if shutil.which(component.command[0]) is None:
                raise StackError(f"{component.name}: {component.command[0]!r} is not installed (`make tools`)")
            _wait_until_up(component, _spawn(component.name, component.command, {**env, **component.env}))
            print(f"{component.name}: started" + (f" on http://127.0.0.1:{component.port}" if component.port else ""))
        else:
            print(f"{component.name}: running")
    keys = asyncio.run(_demo_keys(settings))
    print()
    print("Pulse is up. Logs: .pulse/*.log   Stop: make down")
    print("  ingest   http://127.0.0.1:8000  (POST /v1/batch, docs at /docs)")
    print("  metrics  http://127.0.0.1:8001  (GET /v1/projects/demo/events/daily?from=&to=, docs at /docs)")
    print("  feedback http://127.0.0.1:8002  (GET /v1/projects/demo/satisfaction/nps, /responses, docs at /docs)")
    print("  /metrics on each of them, and the consumers' on http://127.0.0.1:9101 (metrics), :9103 (metrics,")
    print("  the adoption projection alone, as deployed) and :9102 (feedback)")
    if prometheus:
        print("  prometheus http://127.0.0.1:9090  (scraping all six, with deploy/prometheus/rules.yml)")
    print("Demo project keys (also in .pulse/demo-keys.json):")
    print(json.dumps(keys, indent=2))
    return 0


def _stop(name: str, pid: int, timeout_s: float = 15.0) -> None:
    try:
        os.killpg(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    print(f"{name}: did not stop in {timeout_s:.0f} s, killing it")
    os.killpg(pid, signal.SIGKILL)


def down(settings: CommonSettings) -> int:
    names = ["prometheus"] + [c.name for c in reversed(_services())] + ["broker"]
    for name in names:
        pid = _read_pid(name)
        if pid is not None:
            _stop(name, pid)
            print(f"{name}: stopped")
        (state_dir() / f"{name}.pid").unlink(missing_ok=True)
    return 0


def status(settings: CommonSettings) -> int:
    prometheus = Component("prometheus", (), 9090, "/-/ready")
    components = (Component("broker", (), None), *_services(), prometheus)
    width = max(len(c.name) for c in components) + 2
    for component in components:
        pid = _read_pid(component.name)
        if pid is None:
            state = "stopped"
        elif component.port is not None:
            ready = _healthy(component.port, component.ready_path)
            state = f"running (pid {pid}), " + ("ready" if ready else "NOT ready")
        else:
            state = f"running (pid {pid})"
        print(f"{component.name:{width}}{state}")
    return 0

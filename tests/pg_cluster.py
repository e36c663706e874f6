"""A private, throwaway PostgreSQL cluster for fault tests: stopped and started at will, never the shared server.

`initdb` into a temporary folder, listening on a free port on 127.0.0.1 with its unix socket in that folder,
trust authentication for the `postgres` role, durability off (a test cluster: fsync, full-page writes and
synchronous commit cost time and protect nothing here). PostgreSQL refuses to run as root: as root the
binaries run as the `postgres` OS user, which owns the folder. No PostgreSQL binaries means the test fails
(`.ci/run` installs the `postgresql` package when they are missing); it never skips.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


class ClusterUnavailable(RuntimeError):
    pass


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    # Debian's postgresql package keeps initdb/pg_ctl off PATH, per major version.
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"),
                        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    if not candidates:
        raise ClusterUnavailable(f"no `{name}` on PATH or in /usr/lib/postgresql/*/bin: install the postgresql "
                                 "package (.ci/run does)")
    return candidates[-1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrivateCluster:
    """`with PrivateCluster() as pg:` → `pg.url("name")`, `pg.stop()`, `pg.start()`; removed on exit."""

    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _binary("initdb"), _binary("pg_ctl")
        self.root = Path(tempfile.mkdtemp(prefix="tt-pg-cluster-"))
        self.data, self.log = self.root / "data", self.root / "postgres.log"
        self.port = _free_port()
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.root, user="postgres", group="postgres")
        self._run(self.initdb, "-D", str(self.data), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-sync",
                  "--no-instructions", timeout=60)

    def _run(self, *args: str, timeout: float, check: bool = True) -> subprocess.CompletedProcess:
        command = (["runuser", "-u", "postgres", "--", *args] if self._as_postgres else list(args))
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=self.root)
        if check and result.returncode != 0:
            raise ClusterUnavailable(f"{' '.join(args)} failed ({result.returncode}): "
                                     f"{result.stdout[-1500:]}{result.stderr[-1500:]}{self.server_log()[-1500:]}")
        return result

    def server_log(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c full_page_writes=off -c synchronous_commit=off -c max_connections=60")
        self._run(self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start",
                  timeout=40)

    def stop(self, *, wait_seconds: int = 10) -> str:
        """Stop as an operator would: `fast` (clients disconnected, transactions rolled back), else `immediate`."""
        fast = self._run(self.pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "-t", str(wait_seconds), "stop",
                         timeout=wait_seconds + 10, check=False)
        if fast.returncode == 0:
            return "fast"
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "-t", "20", "stop", timeout=30)
        return "immediate"

    def running(self) -> bool:
        return self._run(self.pg_ctl, "-D", str(self.data), "status", timeout=10, check=False).returncode == 0

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def connect(self, name: str = "postgres", **kwargs):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=name, connect_timeout=5,
                               **kwargs)

    def create_database(self, name: str) -> str:
        with self.connect(autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def destroy(self) -> None:
        try:
            if self.data.exists() and self.running():
                self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop", timeout=30,
                          check=False)
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        try:
            self.start()
        except BaseException:
            self.destroy()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.destroy()

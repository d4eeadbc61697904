"""A throwaway PostgreSQL 15 server for the whole test session: initdb + pg_ctl on 127.0.0.1.

`initdb` refuses to run as root, so as root the server runs as the `postgres`
system user in a folder it owns; as anyone else it runs directly. A server that
cannot start fails the tests that need it.

PostgreSQL cannot listen on a port the OS picks (port 0), so it starts on a random
port and, if another process (another xdist worker's server, say) holds that port,
starts again on another: `pg_ctl -w` returns only once this very server accepts
connections, so a port someone else listens on is never mistaken for ours.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

SUPERUSER = "wareader"


@dataclass(frozen=True)
class PostgresServer:
    """A running server: where it listens and how to make databases on it."""

    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database's URL, so tests never see each other's tables."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


STARTS = 20  # ports tried before giving up


def _run_as_server_user(command: list[str], *, check: bool = True) -> bool:
    """Run a server tool, as `postgres` when we are root; a failure raises with its stderr
    (or, with check=False, returns False)."""
    full = ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command
    done = subprocess.run(full, capture_output=True, text=True, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {done.stderr or done.stdout}")
    return done.returncode == 0


def _start(data: Path, root: Path) -> int:
    """Start the server on a free port (another one when its port is taken); the port."""
    log = root / "log"
    for _ in range(STARTS):
        port = random.randint(20_000, 60_000)
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        )
        command = ["pg_ctl", "-D", str(data), "-w", "-l", str(log), "-o", options, "start"]
        if _run_as_server_user(command, check=False):
            return port
        text = log.read_text(errors="replace") if log.exists() else ""
        if "could not bind" not in text and "Address already in use" not in text:
            raise RuntimeError(f"PostgreSQL did not start:\n{text}")
        log.unlink()  # the next try's log only
    raise RuntimeError(f"PostgreSQL found no free port in {STARTS} tries")


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """PostgreSQL on 127.0.0.1 (a port found free by starting on it), trust authentication,
    stopped at session end."""
    for tool in ("initdb", "pg_ctl"):
        if shutil.which(tool) is None:
            raise RuntimeError(f"{tool} is not on PATH: PostgreSQL 15 server binaries are required")
    root = Path(tempfile.mkdtemp(prefix="wareader-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, user="postgres")
    data = root / "data"
    try:
        _run_as_server_user(
            ["initdb", "-D", str(data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8"]
        )
        port = _start(data, root)
        yield PostgresServer(host="127.0.0.1", port=port, user=SUPERUSER)
    finally:
        if (data / "postmaster.pid").exists():
            _run_as_server_user(
                ["pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"], check=False
            )
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A fresh database on the session's server."""
    return postgres_server.create_database()

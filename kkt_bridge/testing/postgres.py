"""A throw-away PostgreSQL server for tests: ``initdb`` + ``pg_ctl`` from Debian's
``/usr/lib/postgresql/*/bin`` in a temporary directory, listening on a unix socket only.

No server is assumed to be running and nothing outside the temporary directory is touched.
PostgreSQL refuses to run as root, so under root the cluster belongs to ``nobody`` and its
programs run with that user's id (the directory is chowned to it). Fixtures:

- ``postgres_server`` (session): the running server, stopped at the end of the session;
- ``postgres_url``: a fresh, empty database for one test;
- ``backoffice_db``: parametrised over ``sqlite`` and ``postgresql``, what ``--db`` takes
  for the reference back office, so a test runs against both storages.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kkt_bridge.testing.system import unavailable

__all__ = ["PostgresServer", "backoffice_db", "postgres_server", "postgres_url"]

HOW = "apt-get install postgresql (Debian's package; .ci/run installs it)"
USER = "kkt"
START_TIMEOUT = 60


def find_bin() -> Path | None:
    """The newest installed PostgreSQL's program directory."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parent.parent.name)
                   if Path(p).parent.parent.name.isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class PostgresServer:
    """One cluster in a temporary directory; :meth:`new_database` gives each test its own."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="kkt-pg-"))
        self._uid: int | None = None
        self._gid: int | None = None
        if os.geteuid() == 0:
            import pwd  # POSIX only, like the server it starts

            nobody = pwd.getpwnam("nobody")
            self._uid, self._gid = nobody.pw_uid, nobody.pw_gid
            os.chown(self.dir, self._uid, self._gid)
        self.data = self.dir / "data"
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        uid, gid = self._uid, self._gid

        def demote() -> None:  # pragma: no cover - runs in the child
            if uid is not None and gid is not None:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C",
               "HOME": str(self.dir), "TZ": "UTC"}
        done = subprocess.run(args, cwd=self.dir, env=env, preexec_fn=demote,
                              capture_output=True, text=True, timeout=START_TIMEOUT,
                              check=False)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args[:2])} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        self._run(str(self.bindir / "initdb"), "-D", str(self.data), "-U", USER,
                  "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync")
        options = " ".join((
            f"-k {self.dir}", "-c listen_addresses=''", "-c fsync=off",
            "-c synchronous_commit=off", "-c full_page_writes=off",
            "-c shared_buffers=16MB", "-c max_connections=200"))
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l",
                  str(self.dir / "server.log"), "-w", "-t", str(START_TIMEOUT), "-o", options,
                  "start")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@/{database}?host={self.dir}"

    def new_database(self) -> str:
        import psycopg

        name = f"t{os.getpid()}_{next(self._names)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
                      "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bin()
    if bindir is None:
        unavailable("PostgreSQL (initdb, pg_ctl)", HOW)
        raise AssertionError("unreachable")
    server = PostgresServer(bindir)
    try:
        server.start()
    except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(server.dir, ignore_errors=True)
        unavailable(f"a PostgreSQL server ({exc})", HOW)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgresql"])
def backoffice_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """What ``--db`` takes, once per storage: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "bo.sqlite3")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.new_database()

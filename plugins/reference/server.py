"""Run the reference back office: uvicorn serving the API, in a thread, in the foreground or
as several worker processes, plus the Python API the bridge, the demo and the tests use.

    office = ReferenceBackOffice(tmp_path / "bo.sqlite3")   # or "postgresql://…"
    url = office.serve_in_thread()          # http://127.0.0.1:<free port>
    code = office.issue_sync_code("Магазин на Ленина")
    ...
    office.documents()                      # what arrived
    office.stop()

Connections are bounded: a client has :data:`HEADER_TIMEOUT` seconds to send a request's
headers (from connecting, or after the previous answer), :data:`KEEP_ALIVE` seconds of
silence between requests, and the body must keep arriving (:data:`BODY_CHUNK_TIMEOUT`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import h11
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from kkt_bridge.errors import BackOfficeUnavailableError, ConfigError
from kkt_bridge.plugins.reference.app import ReferenceApi
from kkt_bridge.plugins.reference.demo import seed_demo
from kkt_bridge.plugins.reference.faults import FaultInjector
from kkt_bridge.plugins.reference.service import BackOffice
from kkt_bridge.plugins.reference.storage import (
    Register,
    StoredDocument,
    utc_now,
)

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0  # seconds to wait for uvicorn to listen
STOP_TIMEOUT = 10.0
HEADER_TIMEOUT = 10.0
KEEP_ALIVE = 15
#: the environment variable that hands a worker process its settings
WORKER_ENV = "KKT_BACKOFFICE_WORKER"


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for a request's headers: a connection that
    sends nothing, or drips its headers (slowloris), is closed after HEADER_TIMEOUT. The
    clock starts when the connection opens and when the next request's first bytes arrive;
    between requests uvicorn's keep-alive timeout applies."""

    header_timeout = HEADER_TIMEOUT
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is h11.IDLE:
            if self._header_timer is None:
                self._arm()
        else:
            self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def uvicorn_config(app: Any, **extra: Any) -> uvicorn.Config:
    return uvicorn.Config(app, log_config=None, access_log=False, lifespan="off",
                          http=BoundedH11Protocol, loop="asyncio",
                          timeout_graceful_shutdown=2, timeout_keep_alive=KEEP_ALIVE,
                          h11_max_incomplete_event_size=32 * 1024, **extra)


class ReferenceBackOffice:
    """The reference back office: a store, an API, and the server that serves it."""

    def __init__(self, db: str | os.PathLike[str], *,
                 clock: Callable[[], datetime] = utc_now,
                 code_ttl: timedelta = timedelta(hours=24),
                 faults: str | None = None, open_ui: bool = False) -> None:
        self.faults = FaultInjector(faults)  # first: a bad spec must not leave a database
        self.db_url = os.fspath(db)
        self.db = BackOffice.open(db, clock=clock)
        self.api = ReferenceApi(self.db, code_ttl=code_ttl, faults=self.faults,
                                open_ui=open_ui)
        self.code_ttl = code_ttl
        self.open_ui = open_ui
        self.url: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # serving

    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving in a daemon thread and return the base URL once it listens."""
        if self._thread is not None:
            assert self.url is not None
            return self.url
        sock = listen(host, port)
        server = uvicorn.Server(uvicorn_config(self.api.app))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                  name="reference-backoffice", daemon=True)
        thread.start()
        if not _wait(lambda: server.started or not thread.is_alive(), START_TIMEOUT) \
                or not server.started:
            server.should_exit = True
            thread.join(STOP_TIMEOUT)
            sock.close()
            raise BackOfficeUnavailableError("эталонный бэк-офис не запустился",
                                             "посмотрите журнал uvicorn")
        self._server, self._thread = server, thread
        self.url = url_of(sock)
        return self.url

    def serve_forever(self, host: str = "127.0.0.1", port: int = 0,
                      ready: Callable[[str], None] | None = None, workers: int = 1) -> None:
        """Serve in this process until SIGINT/SIGTERM (with ``workers`` > 1, in that many
        child processes sharing one socket); ``ready`` gets the URL once listening."""
        if workers > 1 and not self.db.storage.multi_process:
            raise ConfigError(
                f"--workers {workers}: база SQLite обслуживается одним процессом (записи "
                "в один файл из нескольких процессов ждали бы друг друга)",
                "укажите --db postgresql://… или уберите --workers")
        sock = listen(host, port)
        self.url = url_of(sock)
        try:
            if workers > 1:
                self._serve_workers(sock, workers, ready)
            else:
                server = uvicorn.Server(uvicorn_config(self.api.app))
                _announce(server, self.url, ready)
                server.run(sockets=[sock])
        finally:
            sock.close()
            self.db.close()

    def _serve_workers(self, sock: socket.socket, workers: int,
                       ready: Callable[[str], None] | None) -> None:
        from uvicorn.supervisors import Multiprocess

        os.environ[WORKER_ENV] = json.dumps({
            "db": self.db_url, "faults": self.faults.spec, "open_ui": self.open_ui,
            "code_ttl": self.code_ttl.total_seconds()})
        config = uvicorn_config(f"{__name__}:worker_app", factory=True, workers=workers)
        if ready is not None:
            assert self.url is not None
            ready(self.url)
        Multiprocess(config, sockets=[sock]).run()

    def stop(self) -> None:
        """Shut the server down (bounded) and close the store."""
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(STOP_TIMEOUT)
        self._server = self._thread = None
        self.db.close()

    def __enter__(self) -> ReferenceBackOffice:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # «Мои Кассы» and friends

    @property
    def admin_token(self) -> str:
        return self.db.admin_token

    def issue_sync_code(self, shop: str) -> str:
        """«Мои Кассы» -> «Добавить ККТ»: a one-time code (``1234-5678``) for ``shop``."""
        return self.db.issue_sync_code(shop, self.code_ttl).display

    def seed_demo(self) -> dict[str, int]:
        return seed_demo(self.db)

    def set_faults(self, spec: str | None) -> None:
        self.faults.set(spec)

    def registers(self) -> list[Register]:
        return self.db.registers()

    def revoke(self, register_id: int) -> bool:
        return self.db.revoke(register_id)

    def allow_repair(self, register_id: int) -> bool:
        return self.db.allow_repair(register_id)

    def documents(self, *, after: int = 0) -> list[StoredDocument]:
        found: list[StoredDocument] = []
        while True:
            page = self.db.documents(after=after, limit=1000)
            found += page
            if len(page) < 1000:
                return found
            after = page[-1].id

    def count_documents(self, fn_number: str | None = None) -> int:
        return self.db.count_documents(fn_number)


def worker_app() -> Any:
    """The ASGI app of one worker process of ``serve --workers N``."""
    settings = json.loads(os.environ[WORKER_ENV])
    faults = FaultInjector(settings["faults"] or None)
    office = BackOffice.open(settings["db"])
    return ReferenceApi(office, code_ttl=timedelta(seconds=settings["code_ttl"]),
                        faults=faults, open_ui=settings["open_ui"]).app


def _announce(server: uvicorn.Server, url: str, ready: Callable[[str], None] | None) -> None:
    if ready is None:
        return
    original = server.startup

    async def startup(sockets: Any = None) -> None:
        await original(sockets=sockets)
        ready(url)

    server.startup = startup  # type: ignore[method-assign]


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must be IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted sockets only
    # then, and without it every keep-alive answer waits out the client's delayed ACK (40 ms)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise BackOfficeUnavailableError(f"не удалось занять {host}:{port}: {exc.strerror}",
                                         "укажите другой --port или 0") from exc
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _wait(done: Callable[[], bool], timeout: float) -> bool:
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if done():
            return True
        event.wait(0.01)
    return done()

"""Run the reference back office: uvicorn serving the Starlette app, in a thread or in the
foreground, plus the Python API the bridge, the demo and the tests use.

    office = ReferenceBackOffice(tmp_path / "bo.sqlite3")
    url = office.serve_in_thread()          # http://127.0.0.1:<free port>
    code = office.issue_sync_code("Магазин на Ленина")
    ...
    office.documents()                      # what arrived
    office.stop()
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import uvicorn

from kkt_bridge.errors import BackOfficeUnavailableError
from kkt_bridge.plugins.reference.app import ReferenceApi
from kkt_bridge.plugins.reference.demo import seed_demo
from kkt_bridge.plugins.reference.faults import FaultInjector
from kkt_bridge.plugins.reference.storage import (
    Database,
    Register,
    StoredDocument,
    utc_now,
)

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0  # seconds to wait for uvicorn to listen
STOP_TIMEOUT = 10.0


class ReferenceBackOffice:
    """The reference back office: a store, an API, and the server that serves it."""

    def __init__(self, db_path: str | os.PathLike[str], *,
                 clock: Callable[[], datetime] = utc_now,
                 code_ttl: timedelta = timedelta(hours=24),
                 faults: str | None = None, open_ui: bool = False) -> None:
        self.faults = FaultInjector(faults)  # first: a bad spec must not leave a database
        self.db = Database(db_path, clock=clock)
        self.api = ReferenceApi(self.db, code_ttl=code_ttl, faults=self.faults,
                                open_ui=open_ui)
        self.code_ttl = code_ttl
        self.url: str | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # serving

    def _server_for(self, sock: socket.socket) -> uvicorn.Server:
        config = uvicorn.Config(self.api.app, log_config=None, access_log=False,
                                lifespan="off", http="h11", loop="asyncio",
                                timeout_graceful_shutdown=2, timeout_keep_alive=30)
        return uvicorn.Server(config)

    def serve_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Start serving in a daemon thread and return the base URL once it listens."""
        if self._thread is not None:
            assert self.url is not None
            return self.url
        sock = _listen(host, port)
        server = self._server_for(sock)
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
        self.url = _url(sock)
        return self.url

    def serve_forever(self, host: str = "127.0.0.1", port: int = 0,
                      ready: Callable[[str], None] | None = None) -> None:
        """Serve in this thread until SIGINT/SIGTERM; ``ready`` gets the URL once listening."""
        sock = _listen(host, port)
        self.url = _url(sock)
        server = self._server_for(sock)
        if ready is not None:
            url = self.url
            original = server.startup

            async def startup(sockets: Any = None) -> None:
                await original(sockets=sockets)
                ready(url)

            server.startup = startup  # type: ignore[method-assign]
        try:
            server.run(sockets=[sock])
        finally:
            sock.close()
            self.db.close()

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

    def documents(self, *, after: int = 0) -> list[StoredDocument]:
        return self.db.documents(after=after)

    def count_documents(self, fn_number: str | None = None) -> int:
        return self.db.count_documents(fn_number)


def _listen(host: str, port: int) -> socket.socket:
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
    sock.listen(128)
    return sock


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _wait(done: Callable[[], bool], timeout: float) -> bool:
    event = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if done():
            return True
        event.wait(0.01)
    return done()

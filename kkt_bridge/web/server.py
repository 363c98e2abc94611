"""The local server in a thread of the daemon: uvicorn on 127.0.0.1, the access log off.

The socket is bound before uvicorn starts, so the port (0: a free one) is known at once and
the address printed with the login token is the one that answers. uvicorn's access log is
off: it would print every query string, a login token among them.
"""

from __future__ import annotations

import logging
import socket
import threading

from kkt_bridge.errors import ConfigError, os_error_text
from kkt_bridge.i18n import _
from kkt_bridge.web.context import WebContext

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
#: the page's port unless ``run --port`` says otherwise
DEFAULT_PORT = 8765


class LocalServer:
    def __init__(self, context: WebContext, *, host: str = HOST,
                 port: int = DEFAULT_PORT) -> None:
        self.context = context
        self.host = host
        self.port = port
        self._thread: threading.Thread | None = None
        self._server: object | None = None

    def start(self) -> str:
        """Bind, start serving in a thread; returns the base URL (http://127.0.0.1:PORT)."""
        import uvicorn

        from kkt_bridge.web.app import create_app

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # inherited by every accepted connection: without it a keep-alive client waits for
        # its delayed ACK (40 ms) between the answer's head and body
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.host, self.port))
        except OSError as exc:
            sock.close()
            # both run and demo take --port: the hint names the option, not one command
            raise ConfigError(
                _("порт {port} для страницы kkt-bridge недоступен: {error}").format(
                    port=self.port, error=os_error_text(exc)),
                _("укажите другой --port (0: любой свободный)")) from None
        sock.listen(64)
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        self.context.security.bind(self.port)
        self.context.base_url = f"http://{self.host}:{self.port}"
        config = uvicorn.Config(create_app(self.context), log_level="warning",
                                access_log=False, lifespan="off", timeout_graceful_shutdown=2,
                                server_header=False)
        server = uvicorn.Server(config)
        self._server = server
        self._thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                                        daemon=True, name="kkt-bridge web")
        self._thread.start()
        return self.context.base_url

    def stop(self) -> None:
        self.context.stopping.set()
        server = self._server
        if server is not None:
            server.should_exit = True  # type: ignore[attr-defined]
        if self._thread is not None:
            self._thread.join(10)

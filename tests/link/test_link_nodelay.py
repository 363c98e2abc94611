"""Both ends of a TCP link send each small frame at once (TCP_NODELAY): the drivers'
``socket://`` links and the emulator's TCP line. Without it Nagle holds a frame written
while the previous one is unacknowledged, up to the peer's delayed ACK (about 40 ms)."""

from __future__ import annotations

import socket
import time

from kkt_bridge.emulation.faults import FaultInjector, FaultSpec
from kkt_bridge.emulation.lines import LineKind, TcpServer
from kkt_bridge.emulation.pacing import Pacer
from kkt_bridge.link import open_link


def test_a_drivers_socket_link_sends_at_once() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        link = open_link(f"socket://127.0.0.1:{server.getsockname()[1]}")
        try:
            sock = link._socket  # type: ignore[attr-defined]
            assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            link.close()


class _Quiet:
    def __init__(self, faults: FaultInjector) -> None:
        self.faults = faults
        self.disconnect_requested = False
        self.pacer = Pacer(faults, byte_timeout=1.0)

    def receive(self, data: bytes, now: float) -> None:
        pass

    def poll(self, now: float) -> bytes:
        return b""

    def next_deadline(self) -> float | None:
        return None


def test_the_emulators_tcp_line_sends_at_once() -> None:
    def factory(faults: FaultInjector, _kind: LineKind) -> _Quiet:
        return _Quiet(faults)

    server = TcpServer(factory, spec=FaultSpec(baud=115200), port=0)
    server.start()
    try:
        with socket.create_connection((server.host, server.port), timeout=10):
            for _ in range(1000):  # bounded: the line accepts at once
                client = server._client
                if client is not None:
                    break
                time.sleep(0.01)
            assert client is not None, "the line never accepted"
            assert client.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
    finally:
        server.stop()

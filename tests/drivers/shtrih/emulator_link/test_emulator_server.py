"""The pty and TCP lines with real descriptors and sockets (127.0.0.1, port 0)."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest
import serial

from kkt_bridge.drivers.shtrih.emulator.api import Emulator, parse_hostport
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK, STRAY, build_frame
from kkt_bridge.emulation.faults import DeviceFaults
from kkt_bridge.errors import ConfigError, LinkError

STATUS = bytes.fromhex("10 1E 00 00 00")
WRONG_PASSWORD = bytes.fromhex("02 02 10 4F 5D")


class StubDevice:
    """Answers 0xFC with a model name and 0x10 with "wrong password"; counts power cycles."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[bytes] = []
        self.power_cycles = 0
        self.faults = DeviceFaults()

    def persist(self) -> None:
        """Nothing to save."""

    def handle(self, body: bytes) -> bytes:
        with self.lock:
            self.calls.append(body)
        if body[:1] == b"\xfc":
            return b"\xfc\x00\x00\x00\x01\x0e\xfa\x00" + "ШТРИХ-М-01Ф".encode("cp1251")
        if body[:1] == b"\x10":
            return b"\x10\x4f"
        return body[:1] + b"\x37"

    def power_cycle(self) -> None:
        self.power_cycles += 1


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(device=StubDevice(), pty=True, tcp=0) as emu:  # type: ignore[arg-type]
        yield emu


def exchange(port: serial.SerialBase, body: bytes) -> bytes:
    """One command as a careful host does it; returns the answer frame."""
    port.write(bytes([ENQ]))
    assert port.read(1) == bytes([NAK])
    port.write(build_frame(body))
    assert port.read(1) == bytes([ACK])
    head = port.read(2)
    frame = head + port.read(head[1] + 1)
    port.write(bytes([ACK]))
    return frame


def test_urls(emulator: Emulator) -> None:
    assert emulator.pty_path is not None and emulator.pty_path.startswith("/dev/pts/")
    assert emulator.tcp_url is not None and emulator.tcp_url.startswith("socket://127.0.0.1:")
    assert emulator.urls == [emulator.pty_path, emulator.tcp_url]
    assert "running" in repr(emulator)


def test_pty_survives_clients_that_close_and_reopen(emulator: Emulator) -> None:
    assert emulator.pty_path
    for _ in range(20):
        with serial.Serial(emulator.pty_path, 115200, timeout=1) as port:
            assert exchange(port, STATUS) == WRONG_PASSWORD


def test_pty_client_that_leaves_mid_answer_does_not_disturb_the_next(
        emulator: Emulator) -> None:
    assert emulator.pty_path
    with serial.Serial(emulator.pty_path, 115200, timeout=1) as port:
        port.write(build_frame(STATUS))  # and goes away without reading or ACKing
        assert port.read(1) == bytes([ACK])
    with serial.Serial(emulator.pty_path, 115200, timeout=1) as port:
        port.write(bytes([ENQ]))
        # the device still holds the unacknowledged answer: ACK, then the answer again
        assert port.read(1 + len(WRONG_PASSWORD)) == bytes([ACK]) + WRONG_PASSWORD
        port.write(bytes([ACK]))
        assert exchange(port, STATUS) == WRONG_PASSWORD


def test_tcp_sends_the_stray_ff_and_serves_the_next_client(emulator: Emulator) -> None:
    assert emulator.tcp_url
    for _ in range(3):
        with serial.serial_for_url(emulator.tcp_url, timeout=1) as port:
            assert exchange(port, STATUS) == WRONG_PASSWORD
            assert port.read(1) == bytes([STRAY])


def test_tcp_one_client_at_a_time(emulator: Emulator) -> None:
    assert emulator.tcp
    address = (emulator.tcp.host, emulator.tcp.port)
    first = socket.create_connection(address, timeout=1)
    second = socket.create_connection(address, timeout=0.3)
    try:
        first.sendall(bytes([ENQ]))
        assert first.recv(1) == bytes([NAK])
        second.sendall(bytes([ENQ]))
        with pytest.raises(TimeoutError):
            second.recv(1)  # waits in the backlog while the first is served
        first.close()
        second.settimeout(2)
        assert second.recv(1) == bytes([NAK]), "served once the first went away"
    finally:
        first.close()
        second.close()


def test_pty_and_tcp_at_once_share_one_device(emulator: Emulator) -> None:
    assert emulator.pty_path and emulator.tcp_url
    with serial.Serial(emulator.pty_path, timeout=1) as pty, \
            serial.serial_for_url(emulator.tcp_url, timeout=1) as tcp:
        assert exchange(pty, STATUS) == WRONG_PASSWORD
        assert exchange(tcp, b"\xfc")[3:5] == b"\x00\x00"
        assert tcp.read(1) == bytes([STRAY])
        assert exchange(pty, b"\xfc")[3:5] == b"\x00\x00"
    device = emulator.device
    assert isinstance(device, StubDevice)
    assert device.calls == [STATUS, b"\xfc", b"\xfc"]


def test_stray_ff_can_be_switched_off() -> None:
    with Emulator(device=StubDevice(), pty=False, tcp=0,  # type: ignore[arg-type]
                  stray_ff=False) as emu:
        assert emu.tcp_url and emu.pty_path is None
        with serial.serial_for_url(emu.tcp_url, timeout=0.2) as port:
            assert exchange(port, STATUS) == WRONG_PASSWORD
            assert port.read(1) == b""


def test_disconnect_fault_closes_the_tcp_connection(emulator: Emulator) -> None:
    assert emulator.tcp
    emulator.inject("disconnect_after=0")
    address = (emulator.tcp.host, emulator.tcp.port)
    with socket.create_connection(address, timeout=1) as client:
        client.sendall(bytes([ENQ]))
        assert client.recv(1) == bytes([NAK])
        client.sendall(build_frame(STATUS))
        got = b""
        for _ in range(10):
            piece = client.recv(16)
            if not piece:
                break  # the device hung up
            got += piece
        else:
            pytest.fail("the connection stayed open")
    assert got[:1] == bytes([ACK])
    assert 1 < len(got) < 1 + len(WRONG_PASSWORD), "the answer was cut in the middle"
    assert emulator.tcp_url
    with serial.serial_for_url(emulator.tcp_url, timeout=1) as port:
        assert exchange(port, STATUS) == WRONG_PASSWORD, "the next connection is healthy"


def test_inject_reaches_a_running_line(emulator: Emulator) -> None:
    assert emulator.pty_path
    with serial.Serial(emulator.pty_path, timeout=0.3) as port:
        assert exchange(port, STATUS) == WRONG_PASSWORD
        port.write(bytes([ENQ]))
        assert port.read(1) == bytes([NAK]), "the ACK of the answer has been taken"
        emulator.inject("silent_after=0")
        port.write(bytes([ENQ]))
        assert port.read(1) == b""
        emulator.clear_faults()
        assert exchange(port, STATUS) == WRONG_PASSWORD


def test_power_loss_is_forwarded_to_the_device(emulator: Emulator) -> None:
    assert emulator.pty_path
    emulator.inject("power_loss_at=1")
    with serial.Serial(emulator.pty_path, timeout=0.3) as port:
        port.write(build_frame(STATUS))
        assert port.read(1) == b""
    device = emulator.device
    assert isinstance(device, StubDevice)
    assert device.power_cycles == 1
    assert device.calls == []


def test_stop_releases_the_port_and_the_pty() -> None:
    emu = Emulator(device=StubDevice(), tcp=0).start()  # type: ignore[arg-type]
    assert emu.tcp and emu.pty
    port, master = emu.tcp.port, emu.pty._master
    emu.stop()
    with pytest.raises(OSError):
        os.fstat(master)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", port))  # free again
    emu.stop()  # twice is harmless


def test_busy_tcp_port_is_a_link_error() -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        with pytest.raises(LinkError) as caught:
            Emulator(device=StubDevice(), pty=False,  # type: ignore[arg-type]
                     tcp=f"127.0.0.1:{port}").start()
        assert str(port) in str(caught.value)


@pytest.mark.parametrize(("text", "expected"), [
    ("127.0.0.1:7778", ("127.0.0.1", 7778)),
    (":0", ("127.0.0.1", 0)),
    ("9000", ("127.0.0.1", 9000)),
    ("localhost", ("localhost", 7778)),
    ("[::1]:7000", ("::1", 7000)),
])
def test_parse_hostport(text: str, expected: tuple[str, int]) -> None:
    assert parse_hostport(text) == expected


@pytest.mark.parametrize("text", ["host:port", "1.2.3.4:70000", "[::1]:x"])
def test_parse_hostport_rejects(text: str) -> None:
    with pytest.raises(ConfigError):
        parse_hostport(text)

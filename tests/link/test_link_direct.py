"""kkt_bridge.link.direct: a tty's descriptor read and written as pyserial would, on a pty;
a socket:// port's socket read whole on loopback."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator

import pytest
import serial

from kkt_bridge.link.direct import DirectIO, SocketIO, direct_io, port_calls, socket_io


@pytest.fixture
def pty_port() -> Iterator[tuple[serial.Serial, int]]:
    """A pyserial port on a pty's slave, and the master's descriptor (the "device")."""
    master, slave = os.openpty()
    name = os.ttyname(slave)
    port = serial.Serial(name, 115200, timeout=0.05, write_timeout=1.0)
    try:
        yield port, master
    finally:
        port.close()
        os.close(slave)
        os.close(master)


def test_only_a_posix_tty_gets_direct_io(pty_port: tuple[serial.Serial, int]) -> None:
    port, _master = pty_port
    assert isinstance(direct_io(port), DirectIO)
    loop = serial.serial_for_url("loop://", timeout=0.05)
    assert direct_io(loop) is None
    assert direct_io(object()) is None


def test_read_never_takes_more_than_asked(pty_port: tuple[serial.Serial, int]) -> None:
    port, master = pty_port
    io = DirectIO(port)
    os.write(master, b"\x06\x02\x05abcde")
    assert io.read(1) == b"\x06"
    assert io.read(2) == b"\x02\x05"
    # what is left stays on the line for the next reader, pyserial included
    assert port.read(5) == b"abcde"


def _read_unless_it_hangs(io: DirectIO, size: int, end_the_hang: Callable[[], None],
                          ) -> list[bytes]:
    """``io.read(size)`` on a port without a timeout, in a thread: what it returned, or
    nothing when it hung (``end_the_hang`` then ends it, so the thread ends with the test).
    The join's 30 s guard against the hang, they measure nothing."""
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(io.read(size)), daemon=True)
    reader.start()
    reader.join(30)
    if reader.is_alive():
        end_the_hang()
        reader.join(30)
        return []
    return got


def test_read_returns_what_came_without_waiting_for_the_rest(
        pty_port: tuple[serial.Serial, int]) -> None:
    port, master = pty_port
    port.timeout = None  # a read that waited for the 10 bytes asked would never return
    io = DirectIO(port)
    os.write(master, b"ab")
    got = _read_unless_it_hangs(io, 10, port.cancel_read)
    # a pty may hand the two bytes over apart: a read returns the first of them
    assert got and got[0] and b"ab".startswith(got[0])


def test_silence_is_empty(pty_port: tuple[serial.Serial, int]) -> None:
    port, _master = pty_port
    port.timeout = 0.01
    assert DirectIO(port).read(1) == b""


def test_write_reaches_the_device(pty_port: tuple[serial.Serial, int]) -> None:
    port, master = pty_port
    DirectIO(port).write(b"\x06\x02\x01\x10\x11")
    assert os.read(master, 100) == b"\x06\x02\x01\x10\x11"


def test_a_closed_port_raises_as_pyserial_does(pty_port: tuple[serial.Serial, int]) -> None:
    port, _master = pty_port
    io = DirectIO(port)
    port.close()
    with pytest.raises(serial.SerialException):
        io.read(1)
    with pytest.raises(serial.SerialException):
        io.write(b"\x05")


def test_cancel_read_ends_a_waiting_read(pty_port: tuple[serial.Serial, int]) -> None:
    port, _master = pty_port
    port.timeout = 10.0
    io = DirectIO(port)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(io.read(1)))
    reader.start()
    # cancel until the read has returned (the first cancel may come before it waits)
    for _try in range(100):
        port.cancel_read()
        reader.join(0.05)
        if not reader.is_alive():
            break
    assert got == [b""]


def test_a_write_the_line_cannot_take_goes_through_pyserial(
        pty_port: tuple[serial.Serial, int]) -> None:
    port, _master = pty_port
    port.write_timeout = 0.05
    io = DirectIO(port)
    # nobody reads the master: the pty's buffer fills, and pyserial's write timeout says so
    with pytest.raises(serial.SerialTimeoutException):
        for _chunk in range(1000):  # bounded: a pty buffer holds some kilobytes
            io.write(bytes(4096))


def test_a_vanished_device_raises() -> None:
    master, slave = os.openpty()
    port = serial.Serial(os.ttyname(slave), 115200, timeout=0.05)
    try:
        io = DirectIO(port)
        os.close(master)  # the device end goes away: readable, and nothing to read
        with pytest.raises(serial.SerialException):
            io.read(1)
    finally:
        port.close()
        os.close(slave)


def test_read_now_takes_what_waits_and_else_waits(pty_port: tuple[serial.Serial, int]) -> None:
    port, master = pty_port
    io = DirectIO(port)
    os.write(master, b"\x10\x00\x11")
    # a pty hands the bytes to its reader a moment after the write: wait for them
    assert io.read(1) == b"\x10"
    assert io.read_now(5) == b"\x00\x11"
    port.timeout = 0.01
    assert io.read_now(1) == b""  # nothing waits: a read's byte timeout of silence


# --- a socket:// port read on its socket (SocketIO) -------------------------------------------


@pytest.fixture
def socket_port() -> Iterator[tuple[serial.SerialBase, socket.socket]]:
    """A pyserial ``socket://`` port connected to a listener on 127.0.0.1, and the
    accepted socket (the "device")."""
    listener = socket.create_server(("127.0.0.1", 0))
    host, number = listener.getsockname()[:2]
    port = serial.serial_for_url(f"socket://{host}:{number}", timeout=0.05,
                                 write_timeout=1.0)
    device, _address = listener.accept()
    listener.close()
    try:
        yield port, device
    finally:
        port.close()
        device.close()


def test_only_a_socket_port_gets_socket_io_and_only_when_asked(
        socket_port: tuple[serial.SerialBase, socket.socket],
        pty_port: tuple[serial.Serial, int]) -> None:
    port, _device = socket_port
    assert isinstance(socket_io(port), SocketIO)
    assert port_calls(port).direct is None  # the Shtrih driver's reads stay pyserial's
    calls = port_calls(port, sockets=True)
    assert isinstance(calls.direct, SocketIO) and calls.read == calls.direct.read
    tty, _master = pty_port
    assert socket_io(tty) is None
    assert isinstance(port_calls(tty, sockets=True).direct, DirectIO)
    assert socket_io(serial.serial_for_url("loop://", timeout=0.05)) is None
    assert socket_io(object()) is None


def test_a_socket_read_returns_what_came_without_waiting_for_the_size_asked(
        socket_port: tuple[serial.SerialBase, socket.socket]) -> None:
    port, device = socket_port
    port.timeout = None  # a read that waited for the 4096 bytes asked would never return
    io = SocketIO(port, port._socket)  # type: ignore[attr-defined]
    frame = b"\xfe\x01\x00\x02\xa1\x33"
    device.sendall(frame)
    got = _read_unless_it_hangs(io, 4096, device.close)  # a closed peer: the read raises
    # loopback may hand the segment over in parts: a read returns the first of them
    assert got and got[0] and frame.startswith(got[0])
    device.sendall(b"abcdef")
    assert 1 <= len(io.read(2)) <= 2  # never more than asked


def test_a_socket_read_of_silence_is_empty_and_a_closed_peer_raises(
        socket_port: tuple[serial.SerialBase, socket.socket]) -> None:
    port, device = socket_port
    port.timeout = 0.01
    io = SocketIO(port, port._socket)  # type: ignore[attr-defined]
    assert io.read(10) == b""
    device.close()
    with pytest.raises(serial.SerialException, match="disconnected"):
        io.read(10)


def test_a_socket_write_reaches_the_device_and_a_closed_port_raises(
        socket_port: tuple[serial.SerialBase, socket.socket]) -> None:
    port, device = socket_port
    io = SocketIO(port, port._socket)  # type: ignore[attr-defined]
    io.write(b"\xfe\x02\x00\x05\xc2\x01\x9a")
    device.settimeout(5.0)
    got = b""
    while len(got) < 7:
        got += device.recv(100)
    assert got == b"\xfe\x02\x00\x05\xc2\x01\x9a"
    port.close()
    with pytest.raises(serial.SerialException):
        io.read(1)
    with pytest.raises(serial.SerialException):
        io.write(b"\x05")

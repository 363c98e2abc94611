from __future__ import annotations

import errno
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from pytest_mock import MockerFixture

from kkt_bridge.errors import (
    ConfigError,
    LinkError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from kkt_bridge.link import open_link
from kkt_bridge.link.opener import HANDLER_PACKAGE


@pytest.fixture
def pty() -> Iterator[tuple[int, str]]:
    master, slave = os.openpty()
    try:
        yield master, os.ttyname(slave)
    finally:
        os.close(slave)
        os.close(master)


def test_pty_opens_8n1_and_carries_bytes(pty: tuple[int, str]) -> None:
    master, path = pty
    link = open_link(path, baudrate=4800, timeout=0.5)
    try:
        assert (link.baudrate, link.bytesize, link.parity, link.stopbits) == (4800, 8, "N", 1)
        assert not link.rtscts and not link.xonxoff
        link.write(b"\x05")
        assert os.read(master, 1) == b"\x05"
        os.write(master, b"\x15")
        assert link.read(1) == b"\x15"
    finally:
        link.close()


def test_second_open_in_this_process_does_not_name_this_process(pty: tuple[int, str]) -> None:
    # the program printing the hint holds the port itself: "kill <its own pid>" is no advice
    _master, path = pty
    first = open_link(path)
    try:
        with pytest.raises(PortBusyError) as info:
            open_link(path)
    finally:
        first.close()
    err = info.value
    assert err.pid is None
    assert str(os.getpid()) not in f"{err.message} {err.hint}"
    assert "занят другим процессом" in err.message


def test_a_port_held_by_another_process_names_it(pty: tuple[int, str]) -> None:
    _master, path = pty
    holder = subprocess.Popen(
        [sys.executable, "-c", "import serial, sys; s = serial.Serial(sys.argv[1], "
         "exclusive=True); print('held', flush=True); sys.stdin.read()", path],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(PortBusyError) as info:
            open_link(path)
    finally:
        holder.communicate(input="", timeout=10)
    err = info.value
    assert err.pid == holder.pid
    assert f"занят процессом {holder.pid} ({err.process})" in err.message
    assert err.hint and f"kill {holder.pid}" in err.hint


def test_port_free_again_after_close(pty: tuple[int, str]) -> None:
    _master, path = pty
    open_link(path).close()
    open_link(path).close()


def test_missing_port_lists_existing_ones(mocker: MockerFixture, tmp_path: Path) -> None:
    port = mocker.Mock(device="/dev/ttyUSB7")
    mocker.patch("serial.tools.list_ports.comports", return_value=[port])
    with pytest.raises(PortNotFoundError) as info:
        open_link(str(tmp_path / "ttyACM9"))
    assert "не найден" in info.value.message
    assert info.value.hint is not None and "/dev/ttyUSB7" in info.value.hint


def test_missing_port_with_no_ports_at_all(mocker: MockerFixture, tmp_path: Path) -> None:
    mocker.patch("serial.tools.list_ports.comports", return_value=[])
    mocker.patch("kkt_bridge.link.failures.KKT_DEV_DIR", str(tmp_path / "none"))
    with pytest.raises(PortNotFoundError) as info:
        open_link(str(tmp_path / "ttyACM9"))
    assert info.value.hint is not None and "подключите ККТ" in info.value.hint


def _denied_hint(mocker: MockerFixture, tmp_path: Path, *, in_group_db: bool) -> str:
    """The hint of opening a node the user "cashier" may not open (group "kkt", 0660)."""
    node = tmp_path / "ttyACM0"
    node.write_bytes(b"")
    mocker.patch("serial.serial_for_url",
                 side_effect=serial.SerialException(errno.EACCES, "could not open port"))
    mocker.patch("kkt_bridge.link.failures.node_access").return_value = mocker.Mock(
        group="kkt", user="cashier", in_group_now=False, in_group_db=in_group_db, mode=0o660)
    with pytest.raises(PortPermissionError) as info:
        open_link(str(node))
    return info.value.hint or ""


def test_permission_denied_names_group_and_udev(mocker: MockerFixture,
                                                tmp_path: Path) -> None:
    hint = _denied_hint(mocker, tmp_path, in_group_db=False)
    assert "kkt" in hint and "cashier" in hint
    assert "tools/install-udev" in hint and "usermod -aG kkt" in hint


def test_permission_denied_after_usermod_without_relogin(mocker: MockerFixture,
                                                         tmp_path: Path) -> None:
    assert "войдите снова" in _denied_hint(mocker, tmp_path, in_group_db=True)


def test_tcp_refused_names_host_and_port() -> None:
    with socket.socket() as sock:  # bound, not listening: connect is refused
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(LinkError) as info:
            open_link(f"socket://127.0.0.1:{port}")
    assert f"127.0.0.1:{port}" in info.value.message
    assert "отказала" in info.value.message


def test_socket_default_port_is_used() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        link = open_link("socket://127.0.0.1", default_port=port)
        try:
            conn, _addr = server.accept()
            with conn:
                link.write(b"\x05")
                assert conn.recv(1) == b"\x05"
        finally:
            link.close()


def test_loop_url_echoes() -> None:
    link = open_link("loop://", timeout=0.5)
    try:
        link.write(b"\x02\x01\x10\x11")
        assert link.read(4) == b"\x02\x01\x10\x11"
    finally:
        link.close()


@pytest.mark.parametrize("url", ["", "   ", "bogus://x", "usb://zz"])
def test_bad_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        open_link(url)
    assert info.value.hint


def test_usb_url_goes_through_serial_for_url(mocker: MockerFixture) -> None:
    find = mocker.patch("usb.core.find", return_value=[])
    spy = mocker.spy(serial, "serial_for_url")
    with pytest.raises(PortNotFoundError):
        open_link("usb://1FC9:0083")
    assert HANDLER_PACKAGE in serial.protocol_handler_packages
    spy.assert_called_once()
    find.assert_called_once_with(find_all=True, idVendor=0x1FC9, idProduct=0x0083)


def _rfc2217_server(server: socket.socket, stop: threading.Event) -> None:
    """pyserial's own RFC 2217 port manager over a loop:// port: bytes sent come back."""
    import serial.rfc2217

    conn, _addr = server.accept()
    with conn:
        conn.settimeout(0.05)
        port = serial.serial_for_url("loop://", timeout=0)

        class _Out:
            def write(self, data: bytes) -> None:
                conn.sendall(data)

        manager = serial.rfc2217.PortManager(port, _Out())
        for _tick in range(400):  # bounded: at most ~20 s of 0.05 s waits
            if stop.is_set():
                break
            try:
                data = conn.recv(1024)
            except TimeoutError:
                data = None
            if data == b"":
                break
            if data:
                port.write(b"".join(manager.filter(data)))
            echoed = port.read(port.in_waiting or 1)
            if echoed:
                conn.sendall(b"".join(manager.escape(echoed)))
        port.close()


# pyserial's rfc2217 client names its reader thread the old way
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_rfc2217_url_opens_through_serial_for_url(mocker: MockerFixture) -> None:
    spy = mocker.spy(serial, "serial_for_url")
    stop = threading.Event()
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        thread = threading.Thread(target=_rfc2217_server, args=(server, stop), daemon=True)
        thread.start()
        link = open_link(f"rfc2217://127.0.0.1:{port}", baudrate=9600, timeout=2.0)
        try:
            assert link.baudrate == 9600
            link.write(b"\x05\xff")  # 0xFF is IAC in telnet: escaping must round-trip it
            assert link.read(2) == b"\x05\xff"
        finally:
            link.close()
            stop.set()
            thread.join(timeout=5)
    # the first call is ours (the server thread opens its loop:// port through it too)
    assert spy.call_args_list[0].args[0] == f"rfc2217://127.0.0.1:{port}"

"""The link owner and the shared port's plumbing, against the emulator over a real pty/TCP."""

from __future__ import annotations

import os
import socket
import stat
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import serial

from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.drivers.shtrih.exchange import ShtrihExchangeRules
from kkt_bridge.drivers.shtrih.frame import ENQ, NAK, build_frame
from kkt_bridge.drivers.shtrih.plugin import open_port
from kkt_bridge.errors import LinkClosedError, LinkError, LinkTimeoutError, ProtocolError
from kkt_bridge.kkt import capabilities_of
from kkt_bridge.registers import open_register
from kkt_bridge.share import LinkOwner, SharedPort
from kkt_bridge.share.paths import port_name
from kkt_bridge.share.rules import ExchangeRules

STATUS = build_frame(bytes.fromhex("10 1E000000"))


def test_the_stable_name_points_at_a_0660_pty_and_goes_away_at_stop(
        register: tuple[Any, ExchangeRules], tmp_path: Path) -> None:
    kkt_emulator, rules = register
    owner = LinkOwner(kkt_emulator.pty_path or "", rules)
    port = SharedPort(owner, "shtrih 0042", run_dir=tmp_path).start()
    try:
        assert port.link == tmp_path / "shtrih-0042"
        assert os.readlink(port.link) == port.pty_path
        assert stat.S_IMODE(os.stat(port.pty_path).st_mode) == 0o660
        assert port.tcp_url is None
        info = port.info().as_json()
        assert info["path"] == str(port.link) and info["device"] == kkt_emulator.pty_path
    finally:
        port.stop()
        owner.close()
    assert not port.link.exists() and not port.link.is_symlink()


@pytest.mark.parametrize(("text", "name"), [
    ("/dev/kkt/shtrih-0042", "shtrih-0042"), ("socket://10.0.0.5:7778", "10.0.0.5-7778"),
    ("../..", "kkt"), ("ККТ 1", "1"), ("/dev/pts/3", "pts-3")])
def test_port_names_are_plain_file_names(text: str, name: str) -> None:
    assert port_name(text) == name


def test_the_bridge_turn_opens_lazily_and_the_shared_kkt_never_closes_the_link(
        register: tuple[Any, ExchangeRules]) -> None:
    kkt_emulator, rules = register
    owner = LinkOwner(kkt_emulator.pty_path or "", rules)
    assert not owner.connected
    kkt = owner.kkt()
    assert kkt.fn_status().last_fd_number == len(kkt_emulator.archive())
    kkt.close()
    assert owner.connected
    assert kkt.identity().serial
    owner.close()
    with pytest.raises(LinkClosedError):
        kkt.fn_status()


def test_the_shared_kkt_has_the_drivers_capabilities(kkt_emulator: Emulator) -> None:
    owner = LinkOwner(kkt_emulator.pty_path or "", ShtrihExchangeRules())
    direct = open_register(kkt_emulator.tcp_url or "", driver="shtrih")
    try:
        # an attribute, not a command: the employees job reads it as a set
        assert capabilities_of(owner.kkt()) == capabilities_of(direct)
    finally:
        owner.close()
        direct.close()


def test_a_register_that_cannot_be_opened(tmp_path: Path) -> None:
    owner = LinkOwner(str(tmp_path / "ttyACM9"), ShtrihExchangeRules(), reopen_interval=10)
    with pytest.raises(LinkError):
        owner.kkt().fn_status()
    with owner.cash_turn() as port:
        assert port is None  # the shared port stays silent
    assert owner.last_error


def test_a_dropped_tcp_link_is_opened_again_on_the_next_turn(
        register: tuple[Any, ExchangeRules]) -> None:
    kkt_emulator, rules = register
    owner = LinkOwner(kkt_emulator.tcp_url or "", rules)
    kkt = owner.kkt()
    last = kkt.fn_status().last_fd_number
    kkt_emulator.inject("disconnect_after=0")
    with pytest.raises(LinkError):
        kkt.fn_status()
    kkt_emulator.clear_faults()
    assert kkt.fn_status().last_fd_number == last
    owner.close()


def test_settle_reads_away_an_answer_the_register_still_holds(kkt_emulator: Emulator) -> None:
    port = open_port(kkt_emulator.pty_path or "", baudrate=None)
    try:
        port.write(bytes([ENQ]))
        assert port.read(1) == bytes([NAK])
        port.write(STATUS)  # accepted, answered, never acknowledged: the answer is held
        time.sleep(0.1)
        port.reset_input_buffer()
        ShtrihExchangeRules().settle(port)
        port.write(bytes([ENQ]))
        assert port.read(1) == bytes([NAK]), "idle again"
    finally:
        port.close()


def test_a_bridge_turn_after_a_cash_turn_starts_on_a_quiet_line(kkt_emulator: Emulator) -> None:
    """The cash software asked and went away before the register's reply came: the reply
    must not wait on the line for the bridge's first command to read as its own."""
    owner = LinkOwner(kkt_emulator.pty_path or "", ShtrihExchangeRules())
    try:
        with owner.cash_turn() as port:
            port.write(bytes([ENQ]) + STATUS)
            give_up = time.monotonic() + 5
            while port.in_waiting < 2 and time.monotonic() < give_up:
                time.sleep(0.01)
            assert port.in_waiting >= 2, "the register answered"
        with owner.bridge_turn():
            assert port.in_waiting == 0
    finally:
        owner.close()


def test_the_tcp_face_listens_on_loopback_only(
        kkt_emulator: Emulator, shared: Callable[..., tuple[LinkOwner, SharedPort]]) -> None:
    _owner, port = shared(kkt_emulator.pty_path or "", tcp=0)
    assert port.tcp_url is not None
    host, number = port.tcp_url.removeprefix("socket://").rsplit(":", 1)
    assert host == "127.0.0.1"
    with socket.create_connection((host, int(number)), timeout=2) as client:
        client.sendall(bytes([ENQ]))
        assert client.recv(1) == bytes([NAK])


def test_v2_frames_pass_whole_between_the_bridges_document_reads(
        kkt_emulator: Emulator, shared: Callable[..., tuple[LinkOwner, SharedPort]]) -> None:
    from test_share_tracker import v2

    from kkt_bridge.drivers.shtrih.frame import V2_ESC, V2_STX, V2_UNSTUFF, V2Frame

    def read_v2(client: serial.Serial) -> bytes:
        """The unstuffed bytes of one v2 frame after its 8F."""
        got = bytearray()
        for _byte in range(2048):
            byte = client.read(1)[0]
            got.append(V2_UNSTUFF[client.read(1)[0]] if byte == V2_ESC else byte)
            if len(got) >= 2 and len(got) == int.from_bytes(got[:2], "little") + 4:
                return bytes(got)
        raise AssertionError("v2 frame never ended")

    for price in range(100, 110):
        kkt_emulator.sell([("Товар", price)])
    owner, port = shared(kkt_emulator.pty_path or "", tcp=None)
    archive = kkt_emulator.archive()
    stop = threading.Event()
    read: list[bool] = []

    def catch_up() -> None:
        kkt = owner.kkt()
        for _round in range(50):
            for number in range(1, len(archive) + 1):
                if stop.is_set():
                    return
                read.append(kkt.read_document(number) == archive[number - 1])

    reader = threading.Thread(target=catch_up)
    reader.start()
    client = serial.Serial(str(port.link), 115200, timeout=2)
    try:
        for number in range(1, 21):
            client.write(v2(number, bytes.fromhex("FF01 1E000000")))
            assert client.read(1) == bytes([V2_STX])
            content = V2Frame.parse(read_v2(client)).payload.value.content
            assert int.from_bytes(content[:2], "little") == number
            assert content[2:5] == bytes.fromhex("FF01 00")
    finally:
        client.close()
        stop.set()
        reader.join(30)
    assert read and all(read)


def test_reset_closes_the_port_and_the_next_turn_opens_it(
        register: tuple[Any, ExchangeRules]) -> None:
    kkt_emulator, rules = register
    owner = LinkOwner(kkt_emulator.pty_path or "", rules)
    kkt = owner.kkt()
    last = kkt.fn_status().last_fd_number
    owner.reset()
    assert not owner.connected
    assert kkt.fn_status().last_fd_number == last and owner.connected
    owner.close()


class NoDescriptor:
    """A port select cannot watch (as the usb:// handler's): no fileno."""

    def __init__(self, port: serial.SerialBase) -> None:
        self._port = port

    @property
    def timeout(self) -> float | None:
        return self._port.timeout

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._port.timeout = value

    @property
    def in_waiting(self) -> int:
        return self._port.in_waiting

    def read(self, size: int = 1) -> bytes:
        return self._port.read(size)

    def write(self, data: bytes) -> int | None:
        return self._port.write(data)

    def close(self) -> None:
        self._port.close()


class PolledRules(ShtrihExchangeRules):
    def open_port(self, url: str, baudrate: int | None) -> NoDescriptor:
        return NoDescriptor(super().open_port(url, baudrate))


def test_a_port_without_a_descriptor_is_polled(kkt_emulator: Emulator, tmp_path: Path) -> None:
    owner = LinkOwner(kkt_emulator.pty_path or "", PolledRules())
    with SharedPort(owner, "usb", run_dir=tmp_path) as port:
        client = open_register(str(port.link))
        try:
            assert client.fn_status().last_fd_number == len(kkt_emulator.archive())
        finally:
            client.close()
    owner.close()


class FakeRules:
    """Rules over a port that is only an object: what the owner does with them."""

    def __init__(self) -> None:
        self.opened = 0
        self.settled = 0

    def tracker(self) -> object:
        raise NotImplementedError

    def open_port(self, url: str, baudrate: int | None) -> object:
        self.opened += 1
        return type("Port", (), {"close": lambda self: None})()

    def kkt_on_port(self, port: object) -> object:
        return object()

    def settle(self, port: object) -> None:
        self.settled += 1


@pytest.mark.parametrize(("error", "settles", "reopens"), [
    (ProtocolError("ответ потерян"), 1, 1),
    (LinkTimeoutError("нет ответа"), 1, 1),
    (LinkClosedError("порт закрыт"), 0, 2),
    (ValueError("a bug"), 0, 1),
])
def test_after_a_failed_bridge_turn_the_link_is_settled_or_reopened(
        error: Exception, settles: int, reopens: int) -> None:
    rules = FakeRules()
    owner = LinkOwner("/dev/fake", rules)  # type: ignore[arg-type]
    with pytest.raises(type(error)), owner.bridge_turn():
        raise error
    with owner.cash_turn() as port:
        assert port is not None
    with owner.cash_turn():
        pass
    assert (rules.settled, rules.opened) == (settles, reopens)


def test_the_run_directory_it_makes_is_reachable_by_the_cash_softwares_user(
        register: tuple[Any, ExchangeRules], tmp_path: Path) -> None:
    kkt_emulator, rules = register
    owner = LinkOwner(kkt_emulator.pty_path or "", rules)
    old = os.umask(0o077)
    try:
        port = SharedPort(owner, "kkt", run_dir=tmp_path / "run").start()
    finally:
        os.umask(old)
    try:
        assert stat.S_IMODE(os.stat(tmp_path / "run").st_mode) == 0o755
    finally:
        port.stop()
        owner.close()

"""Acceptance: unmodified pyshtrih sells through the shared port while the bridge catches up
a backlog through the same link owner, document by document.

pyshtrih (PyPI 2.0.6) opens the shared pty by its stable name, exactly as it would open the
register's tty. The bridge's side is the project's Shtrih driver reading FF3A/FF3B through
:class:`~kkt_bridge.share.SharedKkt`. Every assertion is about what each side sees: pyshtrih
gets no error it would not get from the register itself, and each document of the ФН is
read by the bridge exactly once and byte for byte as stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from share_helpers import READ_BOUND, Reader, assert_read_once, fill

from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.fiscal import Receipt, ShiftCloseReport, ShiftOpenReport, decode_document
from kkt_bridge.share import Completed, LinkOwner, SharedKkt, SharedPort

pyshtrih = pytest.importorskip("pyshtrih")

BACKLOG = 120
ADMIN = 30
END_OF_DATA = 0x08


def connect(path: str, timeout: float | None = None) -> Any:
    device = pyshtrih.ShtrihM01F(path, 115200, timeout=timeout)
    device.connect()
    return device


@pytest.fixture
def emu(kkt_emulator_factory: Callable[..., Emulator]) -> Emulator:
    emulator = kkt_emulator_factory(tcp=None, seed=11)
    fill(emulator, BACKLOG)
    return emulator


def a_day(till: Any, mark: Callable[[], None] = lambda: None) -> None:
    """Statuses, shift, a cash sale with change, a card sale, a return, the Z-report;
    ``mark`` is called between the steps."""
    assert till.state()["Подрежим ФР"].state == 0
    till.full_state()
    mark()
    till.fs_state()
    till.fs_info_exchange()
    mark()
    till.open_shift()
    till.wait_printing()
    mark()
    till.open_check(0)
    till.sale(("Хлеб", 1000, 4990))
    till.sale(("Яблоки, кг", 1500, 12000))
    assert till.close_check(cash=30000)["Сдача"] == 30000 - 4990 - 18000
    till.sale(("Молоко", 2000, 8950))
    till.close_check(payment_type2=17900)
    till.open_check(2)
    till.return_sale(("Яблоки, кг", 1500, 12000))
    till.close_check(cash=18000)
    till.z_report()
    till.wait_printing()
    assert till.fs_shift_params()["Состояние смены"] == "смена закрыта"


@pytest.mark.parametrize(("backlog", "faults"), [
    pytest.param(BACKLOG, "", id="clean"),
    pytest.param(BACKLOG, "nak=0.03,latency=2", id="nak-latency"),
    pytest.param(1000, "nak=0.01", id="1000-documents", marks=pytest.mark.slow),
])
def test_a_day_through_the_shared_pty_during_a_backlog_catch_up(
        kkt_emulator_factory: Callable[..., Emulator],
        shared: Callable[..., tuple[LinkOwner, SharedPort]],
        reader_for: Callable[..., Reader], backlog: int, faults: str) -> None:
    emu = kkt_emulator_factory(tcp=None, seed=11)
    fill(emu, backlog)
    assert emu.pty_path
    if faults:
        emu.inject(faults)
    owner, port = shared(emu.pty_path, tcp=None)
    made: list[Completed] = []
    owner.subscribe(made.append)
    before = len(emu.archive())
    # the catch-up stops one document short of the backlog until the day is done, and the
    # day starts once it is under way: every step of the day meets it, whatever the load
    reader = reader_for(owner.kkt(), hold_at=before - 1)
    assert reader.started.wait(READ_BOUND), "the catch-up began"

    progress: list[int] = []
    till = connect(str(port.link))
    try:
        a_day(till, lambda: progress.append(len(reader.read)))
    finally:
        till.disconnect()
        reader.resume.set()
    stats = emu.fault_stats
    reader.finish.set()
    reader.join(READ_BOUND)

    assert_read_once(reader, emu)
    assert any(0 < n < before for n in progress), f"sales met the catch-up: {progress}"
    new = [decode_document(data) for data in emu.archive()[before:]]
    assert [type(doc) for doc in new] == [ShiftOpenReport, Receipt, Receipt, Receipt,
                                          ShiftCloseReport]
    # the export follows the sales: one event per document, from the commands that made it
    assert [c.command for c in made] == ["E0", "85", "85", "85", "41"]
    if faults:
        assert stats.get("naked", 0) > 0, "the line did refuse frames"


def test_two_cash_programs_on_the_pty_and_tcp_take_turns_without_garbling(
        emu: Emulator, shared: Callable[..., tuple[LinkOwner, SharedPort]],
        reader_for: Callable[[SharedKkt], Reader]) -> None:
    assert emu.pty_path
    owner, port = shared(emu.pty_path, tcp=0)
    assert port.tcp_url and port.tcp_url.startswith("socket://127.0.0.1:")
    reader = reader_for(owner.kkt())
    errors: list[BaseException] = []
    answers: dict[str, list[int]] = {"pty": [], "tcp": []}

    def pty_program() -> None:
        try:
            till = connect(str(port.link))
            try:
                for _ in range(40):
                    answers["pty"].append(till.fs_state()["Номер последнего ФД"])
            finally:
                till.disconnect()
        except BaseException as exc:
            errors.append(exc)

    def tcp_program() -> None:
        # a second program speaking the protocol over TCP: the project's own driver
        from kkt_bridge.registers import open_register

        try:
            kkt = open_register(port.tcp_url or "")
            try:
                for _ in range(40):
                    answers["tcp"].append(kkt.fn_status().last_fd_number)
            finally:
                kkt.close()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=pty_program), threading.Thread(target=tcp_program)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    reader.finish.set()
    reader.join(READ_BOUND)

    assert not errors, errors
    last = len(emu.archive())
    assert answers["pty"] == [last] * 40
    assert answers["tcp"] == [last] * 40
    assert_read_once(reader, emu)


def test_an_unplugged_register_times_the_cash_software_out_then_it_recovers(
        emu: Emulator, shared: Callable[..., tuple[LinkOwner, SharedPort]]) -> None:
    assert emu.pty_path
    _owner, port = shared(emu.pty_path, tcp=None)
    till = connect(str(port.link), timeout=0.3)
    try:
        assert till.fs_state()["Номер последнего ФД"] == len(emu.archive())
        emu.inject("silent_after=0")  # the register hears nothing and says nothing
        started = time.monotonic()
        with pytest.raises(pyshtrih.NoConnectionError):
            till.state()
        # the proxy invents nothing: the cash software waited out its own timeout
        assert time.monotonic() - started >= 0.3
        emu.clear_faults()
        assert till.fs_state()["Номер последнего ФД"] == len(emu.archive())
    finally:
        till.disconnect()


def test_directly_the_register_gives_the_same_timeout(emu: Emulator) -> None:
    """The control for the test above: talking to the register itself."""
    assert emu.pty_path
    till = connect(emu.pty_path, timeout=0.3)
    try:
        emu.inject("silent_after=0")
        with pytest.raises(pyshtrih.NoConnectionError):
            till.state()
        emu.clear_faults()
        till.state()
    finally:
        till.disconnect()


def test_a_noisy_line_garbles_nothing_and_the_catch_up_reads_each_document_once(
        emu: Emulator, shared: Callable[..., tuple[LinkOwner, SharedPort]],
        reader_for: Callable[[SharedKkt], Reader]) -> None:
    """Bytes corrupted and lost both ways: pyshtrih may lose an exchange, as it would on
    this line without the bridge (a link error), but every answer it does get is right,
    and the bridge still reads every document exactly once."""
    assert emu.pty_path
    emu.inject("corrupt=0.002,drop=0.001")
    owner, port = shared(emu.pty_path, tcp=None)
    reader = reader_for(owner.kkt())
    last = len(emu.archive())
    link_errors = answers = 0
    till = connect(str(port.link), timeout=0.3)
    try:
        for _ in range(60):
            try:
                assert till.fs_state()["Номер последнего ФД"] == last
                answers += 1
            except (pyshtrih.NoConnectionError, pyshtrih.excepts.UnexpectedResponseError,
                    TypeError):
                # what a noisy cable gives pyshtrih directly too (TypeError: pyshtrih's own
                # ord(b"") when the register's ACK after its NAK + ENQ is lost)
                link_errors += 1
    finally:
        till.disconnect()
    stats = emu.fault_stats
    emu.clear_faults()
    reader.finish.set()
    reader.join(READ_BOUND)
    assert answers > link_errors
    assert_read_once(reader, emu)
    assert stats.get("corrupted", 0) + stats.get("dropped", 0) > 0, "the line was noisy"


@pytest.mark.parametrize("baudrate", [4800, 57600])
def test_the_cash_software_may_set_any_speed_on_the_shared_port(
        emu: Emulator, shared: Callable[..., tuple[LinkOwner, SharedPort]],
        baudrate: int) -> None:
    assert emu.pty_path
    owner, port = shared(emu.pty_path, tcp=None, baudrate=115200)
    till = pyshtrih.ShtrihM01F(str(port.link), baudrate)
    till.connect()
    try:
        assert till.fs_state()["Номер последнего ФД"] == len(emu.archive())
    finally:
        till.disconnect()
    assert owner.kkt().fn_status().last_fd_number == len(emu.archive())


def read_with_pyshtrih(till: Any, number: int) -> bytes:
    """Document ``number`` as cash software reads it: FF3A, then FF3B until error 08."""
    head = bytes(till.protocol.command(0xFF3A, ADMIN, bytearray(number.to_bytes(4, "little"))))
    assert head[0] == 0, f"FF3A {number}: error {head[0]:#x}"
    body = bytearray()
    for _block in range(1000):
        answer = bytes(till.protocol.command(0xFF3B, ADMIN))
        if answer[0] == END_OF_DATA:
            return head[1:5] + bytes(body)
        assert answer[0] == 0, f"FF3B {number}: error {answer[0]:#x}"
        body += answer[1:]
    raise AssertionError("FF3B never ended")


def test_the_cash_softwares_own_document_read_is_never_split_by_the_bridge(
        emu: Emulator, shared: Callable[..., tuple[LinkOwner, SharedPort]],
        reader_for: Callable[[SharedKkt], Reader]) -> None:
    assert emu.pty_path
    owner, port = shared(emu.pty_path, tcp=None)
    # the catch-up waits after its first document until pyshtrih is connected: on a busy
    # machine it could otherwise be over before pyshtrih's first read
    reader = reader_for(owner.kkt(), hold_at=1)
    assert reader.started.wait(READ_BOUND), "the catch-up began"
    archive = emu.archive()
    till = connect(str(port.link))
    reader.resume.set()
    try:
        progress: list[int] = []
        # 30 documents at least, more (up to the whole archive) on a machine so busy that
        # the bridge's reader has not yet taken a turn between them
        for number in range(len(archive), 0, -1):
            assert read_with_pyshtrih(till, number) == archive[number - 1]
            progress.append(len(reader.read))
            if len(progress) >= 30 and any(1 < n < len(archive) for n in progress):
                break
    finally:
        till.disconnect()
    reader.finish.set()
    reader.join(READ_BOUND)
    assert any(1 < n < len(archive) for n in progress), f"both read at the same time: {progress}"
    assert_read_once(reader, emu)


def test_a_network_register_that_drops_the_connection_is_reached_again(
        kkt_emulator_factory: Callable[..., Emulator],
        shared: Callable[..., tuple[LinkOwner, SharedPort]]) -> None:
    """The owner's TCP link to the register breaks mid-answer: the cash software on the
    shared pty hears a cut answer and then nothing (what a serial line does), and its next
    command reaches the register over a new connection."""
    emu = kkt_emulator_factory(pty=False, tcp=0)
    assert emu.tcp_url
    owner, port = shared(emu.tcp_url, tcp=None)
    till = connect(str(port.link), timeout=0.3)
    try:
        last = till.fs_state()["Номер последнего ФД"]
        emu.inject("disconnect_after=0")
        with pytest.raises((pyshtrih.NoConnectionError, pyshtrih.excepts.ProtocolError,
                            TypeError)):
            till.fs_state()
        emu.clear_faults()
        assert till.fs_state()["Номер последнего ФД"] == last
        assert owner.kkt().fn_status().last_fd_number == last
    finally:
        till.disconnect()

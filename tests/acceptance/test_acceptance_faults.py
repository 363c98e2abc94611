"""Acceptance: every fault of the emulator against the project's driver.

For each fault the driver either recovers (and what it reads is byte-identical to what the
ФН stored) or fails with the error that names the situation; afterwards, on a healthy line,
every complete document is still there and reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kkt_bridge.drivers.shtrih.commands.fields import NOT_GIVEN5
from kkt_bridge.drivers.shtrih.commands.receipt import CLOSE_RECEIPT_V2, OPERATION_V2
from kkt_bridge.drivers.shtrih.driver import ShtrihKkt
from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.drivers.shtrih.emulator.device import EmulatedDevice
from kkt_bridge.drivers.shtrih.plugin import open_port
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.errors import DeviceError, LinkError, LinkTimeoutError, ProtocolError
from kkt_bridge.kkt import ShiftState
from kkt_bridge.registers import open_register

#: short link timeouts keep a fault test at a second or two (the defaults are for real lines)
FAST = {"control_timeout": 0.2, "attempts": 10}


@pytest.fixture
def emu(kkt_emulator_factory: Callable[..., Emulator]) -> Emulator:
    emulator = kkt_emulator_factory(seed=7)
    emulator.open_shift()
    for price in (4990, 12000, 8950, 30000):
        emulator.sell([("Товар", price)])
    return emulator


@pytest.fixture
def connect(emu: Emulator) -> Iterator[Callable[..., Any]]:
    opened: list[Any] = []

    def open_(url: str | None = None, **options: Any) -> Any:
        kkt = open_register(url or emu.pty_path or "", **{**FAST, **options})
        opened.append(kkt)
        return kkt

    yield open_
    for kkt in opened:
        kkt.close()


def read_all(kkt: Any) -> list[bytes]:
    last = kkt.fn_status().last_fd_number
    return [data for _number, data in kkt.iter_documents(1, last)]


def sell(kkt: Any, price: int) -> Any:
    """A receipt the way FFD 1.05 cash software makes it: FF46, then FF45."""
    kkt.execute(OPERATION_V2, operation=1, quantity=1_000_000, price=price, amount=NOT_GIVEN5,
                tax_amount=NOT_GIVEN5, tax_rate=8, department=1, payment_method=4,
                payment_subject=1, name="Товар")
    return kkt.execute(CLOSE_RECEIPT_V2, payments=[price] + [0] * 15, rounding=0,
                       tax_sums=[0] * 6, tax_system=1, text="")


def healthy_read_back(emu: Emulator, kkt: Any) -> None:
    """The invariant after any fault: a healthy line reads every document unchanged."""
    emu.clear_faults()
    assert read_all(kkt) == emu.archive()


def read_with_retries(kkt: Any, numbers: range, errors: list[Exception]) -> list[bytes]:
    """Read documents as the bridge does: a document whose read failed is read again.

    Every failure must be a link or protocol error (the right error); anything else, or
    bytes that differ from what the ФН stored, fails the test."""
    read: list[bytes] = []
    for number in numbers:
        for _attempt in range(5):
            try:
                read.append(kkt.read_document(number))
                break
            except (LinkError, ProtocolError) as exc:
                errors.append(exc)
        else:
            pytest.fail(f"document {number}: five reads failed: {errors[-5:]}")
    return read


@pytest.mark.parametrize(("spec", "fired"), [
    ("corrupt=0.003", "corrupted"),
    ("corrupt_out=0.005", "corrupted"),
    ("corrupt_in=0.01", "corrupted"),
    ("drop=0.003", "dropped"),
    ("nak=0.2", "naked"),
    ("nak=0.1,nak_burst=3", "naked"),
])
def test_the_driver_recovers_from_line_noise(spec: str, fired: str, emu: Emulator,
                                             connect: Callable[..., Any]) -> None:
    stored = emu.archive()
    kkt = connect()
    emu.inject(spec)
    errors: list[Exception] = []
    assert read_with_retries(kkt, range(1, len(stored) + 1), errors) == stored
    assert emu.fault_stats[fired] > 0, "the fault must have happened for the test to count"
    healthy_read_back(emu, kkt)


def test_a_slow_device_answers_enq_with_ack_while_it_works(
        emu: Emulator, connect: Callable[..., Any]) -> None:
    kkt = connect()
    emu.inject("latency=300")  # longer than the driver's 0.2 s wait for a control byte
    assert kkt.fn_status().last_fd_number == len(emu.archive())
    healthy_read_back(emu, kkt)


def test_a_paced_9600_baud_line(emu: Emulator, connect: Callable[..., Any]) -> None:
    kkt = connect()
    emu.inject("baud=9600")
    last = len(emu.archive())
    assert kkt.read_document(last) == emu.archive()[-1]
    healthy_read_back(emu, kkt)


def test_a_nak_storm_longer_than_the_retries_is_a_timeout(
        emu: Emulator, connect: Callable[..., Any]) -> None:
    kkt = connect()
    emu.inject("nak=1")
    with pytest.raises(LinkTimeoutError):
        kkt.fn_status()
    healthy_read_back(emu, kkt)


def test_a_silent_device_is_a_timeout_then_the_driver_goes_on(
        emu: Emulator, connect: Callable[..., Any]) -> None:
    kkt = connect()
    kkt.fn_status()
    emu.inject("silent_after=0")
    with pytest.raises(LinkTimeoutError):
        kkt.fn_status()
    emu.clear_faults()
    assert kkt.fn_status().last_fd_number == len(emu.archive())


def test_silence_that_ends_by_itself(emu: Emulator, connect: Callable[..., Any]) -> None:
    kkt = connect()
    emu.inject("silent_after=1,silent_for=0.1")
    kkt.fn_status()  # the command that starts the silence is still answered
    assert read_all(kkt) == emu.archive()


def test_disconnect_mid_answer_on_the_pty_loses_no_document(
        emu: Emulator, connect: Callable[..., Any]) -> None:
    kkt = connect()
    before = len(emu.archive())
    emu.inject("disconnect_after=1")  # FF46 answers; the answer of FF45 is cut
    with pytest.raises(ProtocolError):
        sell(kkt, 1500)
    archive = emu.archive()
    assert len(archive) == before + 1, "the receipt was made: the ФН keeps it"
    emu.clear_faults()
    assert kkt.fn_status().last_fd_number == before + 1
    assert kkt.read_document(before + 1) == archive[-1]
    healthy_read_back(emu, kkt)


def test_disconnect_mid_answer_over_tcp(emu: Emulator, connect: Callable[..., Any]) -> None:
    assert emu.tcp_url
    kkt = connect(emu.tcp_url)
    before = len(emu.archive())
    emu.inject("disconnect_after=1")
    with pytest.raises((LinkError, ProtocolError)):
        sell(kkt, 1500)
    assert len(emu.archive()) == before + 1
    emu.clear_faults()
    assert read_all(connect(emu.tcp_url)) == emu.archive()


def test_power_loss_mid_receipt_keeps_complete_documents_only(
        emu: Emulator, connect: Callable[..., Any]) -> None:
    kkt = connect()
    stored = emu.archive()
    emu.inject("power_loss_at=2")  # FF46 goes through; power fails as FF45 arrives
    with pytest.raises((DeviceError, LinkError, ProtocolError)):
        sell(kkt, 1500)
    assert emu.archive() == stored, "no half receipt, nothing lost"
    status = kkt.status()
    assert not status.receipt_open, "the open receipt died with the power"
    sell(kkt, 1500)
    assert len(emu.archive()) == len(stored) + 1
    healthy_read_back(emu, kkt)


def test_paper_out_refuses_the_receipt(emu: Emulator, connect: Callable[..., Any]) -> None:
    kkt = connect()
    stored = emu.archive()
    emu.inject("paper_out")
    with pytest.raises(DeviceError) as caught:
        sell(kkt, 1500)
    assert caught.value.code == 0x6B
    assert not kkt.status().paper_present
    assert emu.archive() == stored
    emu.inject("paper_out=0")
    kkt.execute(CLOSE_RECEIPT_V2, payments=[1500] + [0] * 15, rounding=0,
                tax_sums=[0] * 6, tax_system=1, text="")
    assert len(emu.archive()) == len(stored) + 1
    healthy_read_back(emu, kkt)


class RecordingPort:
    """A pyserial port that logs both directions as the host saw them: where faults fell."""

    def __init__(self, port: Any) -> None:
        self._port = port
        self.log = bytearray()

    @property
    def timeout(self) -> float | None:
        return float(self._port.timeout)

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self._port.timeout = value

    def read(self, size: int = 1) -> bytes:
        data = bytes(self._port.read(size))
        if data:
            self.log += b"<" + data
        return data

    def write(self, data: bytes, /) -> int | None:
        self.log += b">" + bytes(data)
        return int(self._port.write(data))

    def close(self) -> None:
        self._port.close()


def _faulty_session(factory: Callable[..., Emulator], spec: str, seed: int
                    ) -> tuple[bytes, dict[str, int]]:
    """An emulator started as ``--faults spec --seed seed`` (the ФН keyed apart, so only the
    faults differ between seeds); the driver reads the archive. Returns the exchange as the
    host saw it and what the faults did."""
    device = EmulatedDevice(clock=ManualClock(), seed=1)
    device.open_shift()  # through the device: the line noise starts with the driver
    for price in (4990, 12000):
        device.sell([("Товар", price)])
    emu = factory(device=device, seed=seed, faults=spec, tcp=None)
    assert emu.pty_path
    port = RecordingPort(open_port(emu.pty_path, baudrate=None))
    kkt = ShtrihKkt.on_port(port, **FAST)
    try:
        errors: list[Exception] = []
        read = read_with_retries(kkt, range(1, len(emu.archive()) + 1), errors)
    finally:
        kkt.close()
    assert read == emu.archive(), "the driver recovered every document byte for byte"
    return bytes(port.log), emu.fault_stats


@pytest.mark.parametrize(("spec", "fired"), [
    ("corrupt=0.003", "corrupted"),
    ("drop_in=0.005", "dropped"),
    ("nak=0.3,nak_burst=2", "naked"),
])
def test_the_same_seed_puts_the_faults_at_the_same_bytes(
        kkt_emulator_factory: Callable[..., Emulator], spec: str, fired: str) -> None:
    """`--faults SPEC --seed N` replays: the same bytes go wrong, the driver reacts the same."""
    log, stats = _faulty_session(kkt_emulator_factory, spec, seed=11)
    assert stats[fired] > 0
    assert _faulty_session(kkt_emulator_factory, spec, seed=11) == (log, stats)
    assert _faulty_session(kkt_emulator_factory, spec, seed=12)[0] != log


def test_power_loss_mid_document_then_a_restart_keeps_complete_documents_only(
        kkt_emulator_factory: Callable[..., Emulator], tmp_path: Path) -> None:
    """`kkt-bridge emulator --state PATH`: power fails while a receipt is open and again as
    the next one closes; after a restart from the state file the ФН has every complete
    document and nothing else, and the driver reads them back unchanged."""
    state = tmp_path / "kkt.json"
    emu = kkt_emulator_factory(state_path=state, tcp=None, seed=3)
    assert emu.pty_path
    with open_register(emu.pty_path, control_timeout=0.2,  # type: ignore[attr-defined]
                       attempts=10) as kkt:
        kkt.open_shift()
        sell(kkt, 4990)
        complete = emu.archive()
        emu.inject("power_loss_at=2")  # FF46 goes through; power fails as FF45 arrives
        with pytest.raises((DeviceError, LinkError, ProtocolError)):
            sell(kkt, 1500)
        assert emu.archive() == complete
        emu.clear_faults()
        kkt.execute(OPERATION_V2, operation=1, quantity=1_000_000, price=700,
                    amount=NOT_GIVEN5, tax_amount=NOT_GIVEN5, tax_rate=8, department=1,
                    payment_method=4, payment_subject=1, name="Открыт при отключении")
    emu.power_cycle()  # the plug is pulled with a receipt open
    emu.stop()

    again = kkt_emulator_factory(state_path=state, tcp=None, seed=3)
    assert again.archive() == complete
    assert again.pty_path
    with open_register(again.pty_path, control_timeout=0.2,  # type: ignore[attr-defined]
                       attempts=10) as kkt:
        status = kkt.status()
        assert not status.receipt_open
        assert status.shift is ShiftState.OPEN
        assert read_all(kkt) == complete
        sell(kkt, 1500)
        assert kkt.fn_status().last_fd_number == len(complete) + 1
        assert read_all(kkt) == again.archive()

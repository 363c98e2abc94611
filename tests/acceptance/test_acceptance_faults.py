"""Acceptance: every fault of the emulator against the project's driver.

For each fault the driver either recovers (and what it reads is byte-identical to what the
ФН stored) or fails with the error that names the situation; afterwards, on a healthy line,
every complete document is still there and reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kkt_bridge.drivers.shtrih.commands.fields import NOT_GIVEN5
from kkt_bridge.drivers.shtrih.commands.receipt import CLOSE_RECEIPT_V2, OPERATION_V2
from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.errors import DeviceError, LinkError, LinkTimeoutError, ProtocolError
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

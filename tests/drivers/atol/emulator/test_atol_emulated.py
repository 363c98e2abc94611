"""The ATOL driver against the ATOL emulator over a real pty and TCP: identity, a whole
cashier's day through the protocol, the archive read back byte for byte, the link's
options, faults, one connection at a time."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from kkt_bridge.drivers.atol.commands import fn, receipt, status
from kkt_bridge.drivers.atol.driver import AtolKkt
from kkt_bridge.drivers.atol.errors import (
    ModeNotAvailableError,
    NotFiscalizedError,
    ReceiptOpenError,
    WrongPasswordError,
)
from kkt_bridge.drivers.atol.plugin import driver as atol_driver
from kkt_bridge.errors import PortBusyError
from kkt_bridge.kkt import Capability, ShiftState, capabilities_of
from kkt_bridge.registers import detect_driver, open_register

Factory = Callable[..., Any]


@pytest.fixture
def atol(kkt_emulator_factory: Factory) -> Factory:
    def make(**options: Any) -> Any:
        return kkt_emulator_factory(driver="atol", **options)
    return make


@pytest.fixture
def opened() -> Iterator[Callable[[str], AtolKkt]]:
    kkts: list[AtolKkt] = []

    def open_(url: str) -> AtolKkt:
        kkt = atol_driver.open(url)
        kkts.append(kkt)
        return kkt

    yield open_
    for kkt in kkts:
        kkt.close()


def whole_day(kkt: AtolKkt) -> None:
    """What cash software does in a day, through the protocol."""
    kkt.execute(status.ENTER_MODE, mode=1, mode_password=1)
    kkt.execute(receipt.OPEN_SHIFT, test=0)
    kkt.execute(receipt.CASH_IN, test=0, amount=100000)
    kkt.execute(receipt.OPEN_RECEIPT, flags=0, receipt_type=1)
    kkt.execute(receipt.ITEM, flags=2, name="Хлеб №1", price=4990, quantity=2000,
                discount_sign=0, discount=0, tax=7, section=1)
    kkt.execute(receipt.ITEM, flags=2, name="Молоко", price=8900, quantity=1000,
                discount_sign=0, discount=900, tax=2, section=1)
    kkt.execute(receipt.PAYMENT, test=0, payment_type=2, amount=10000)
    kkt.execute(receipt.CLOSE_RECEIPT, test=0, payment_type=1, amount=10000)
    kkt.execute(receipt.OPEN_RECEIPT, flags=0, receipt_type=1)
    kkt.execute(receipt.ITEM, flags=2, name="Отменённый", price=100, quantity=1000,
                discount_sign=0, discount=0, tax=6, section=1)
    kkt.execute(receipt.CANCEL_RECEIPT)
    kkt.execute(receipt.CASH_OUT, test=0, amount=5000)
    kkt.execute(status.LEAVE_MODE)
    kkt.execute(status.ENTER_MODE, mode=2, mode_password=29)
    kkt.execute(receipt.X_REPORT, report_type=1)
    kkt.execute(status.LEAVE_MODE)
    kkt.execute(status.ENTER_MODE, mode=3, mode_password=29)
    kkt.execute(receipt.Z_REPORT)
    kkt.execute(status.LEAVE_MODE)


@pytest.mark.parametrize("line", ["pty", "tcp"])
def test_a_whole_day_and_the_archive_read_back(atol: Factory, opened: Callable[[str], AtolKkt],
                                               line: str) -> None:
    emu = atol(pty=line == "pty", tcp=0 if line == "tcp" else None)
    kkt = opened(emu.urls[0])
    ident = kkt.identity()
    assert (ident.protocol, ident.model, ident.fn_number) == (
        "atol", "АТОЛ 30Ф", emu.device.state.identity.fn_number)
    assert capabilities_of(kkt) == {Capability.CASHIER_PER_DOCUMENT}
    whole_day(kkt)
    archive = emu.archive()
    # registration, shift open, the receipt, shift close: the cancelled one left nothing
    assert [int.from_bytes(d[:2], "little") for d in archive] == [1, 2, 3, 5]
    assert kkt.fn_status().last_fd_number == len(archive)
    for number, document in kkt.iter_documents(1, len(archive)):
        assert document == archive[number - 1]
    registration = kkt.registration()
    assert registration is not None and registration.inn == emu.device.profile.inn
    assert registration.ffd_version in ("1.05", "1.2")
    assert kkt.shift().number == 1 and not kkt.shift().open
    # 100000 in; the receipt of 179.80 took 100.00 by card and 79.80 cash (change 20.20)
    assert emu.device.state.cash_in_drawer == 100000 + 7980 - 5000
    assert kkt.execute(receipt.CASH_IN_DRAWER).amount == 100000 + 7980 - 5000
    info = kkt.document_info(3)
    assert info.document_type == 3 and info.fd_number == 3


def test_the_receipt_tlv_has_what_was_sold(atol: Factory, opened: Callable[[str], AtolKkt]
                                           ) -> None:
    from kkt_bridge.fiscal.documents import Receipt, decode_document

    emu = atol(pty=False)
    kkt = opened(emu.tcp_url)
    whole_day(kkt)
    document = decode_document(kkt.read_document(3))
    assert isinstance(document, Receipt)
    names = [item.name for item in document.items]
    assert names == ["Хлеб №1", "Молоко"]
    assert document.total == 2 * 4990 + 8900 - 900


def test_state_and_refusals(atol: Factory, opened: Callable[[str], AtolKkt]) -> None:
    emu = atol(pty=False)
    kkt = opened(emu.tcp_url)
    with pytest.raises(ModeNotAvailableError):
        kkt.execute(receipt.OPEN_SHIFT, test=0)  # not in mode 1
    with pytest.raises(WrongPasswordError):
        kkt.execute(status.ENTER_MODE, mode=3, mode_password=5)  # a cashier, not admin
    kkt.execute(status.ENTER_MODE, mode=1, mode_password=30)
    kkt.execute(receipt.OPEN_RECEIPT, flags=0, receipt_type=1)
    st = kkt.status()
    assert st.receipt_open and st.mode == 1 and st.shift is ShiftState.OPEN
    with pytest.raises(ReceiptOpenError):
        kkt.execute(status.LEAVE_MODE)
    kkt.execute(receipt.CANCEL_RECEIPT)
    assert kkt.execute(status.SHORT_STATE).mode == 1


def test_an_unregistered_register(atol: Factory, opened: Callable[[str], AtolKkt]) -> None:
    emu = atol(pty=False, registered=False)
    kkt = opened(emu.tcp_url)
    assert kkt.registration() is None
    kkt.execute(status.ENTER_MODE, mode=1, mode_password=1)
    with pytest.raises(NotFiscalizedError):
        kkt.execute(receipt.OPEN_SHIFT, test=0)
    emu.register()
    assert kkt.registration() is not None


@pytest.mark.parametrize("options", [{"results": "sync"}, {"abort_reply": 0xA1},
                                     {"ack_reply": 0xA1}, {"accept_ack_add": True}])
def test_the_driver_works_whatever_the_open_questions_turn_out(
        atol: Factory, opened: Callable[[str], AtolKkt], options: dict[str, Any]) -> None:
    emu = atol(pty=False, **options)
    emu.sell([("Хлеб", 4990)])
    kkt = opened(emu.tcp_url)
    if options.get("accept_ack_add"):
        kkt.transport.ack_add = True  # C5 [?]: only for a register known to take it
    kkt.transport.abort()
    for number, document in kkt.iter_documents(1, len(emu.archive())):
        assert document == emu.archive()[number - 1]


def test_a_noisy_paced_line_still_reads_every_document(atol: Factory) -> None:
    emu = atol(pty=True, tcp=None, seed=3, baud=115200)
    for price in range(100, 106):
        emu.sell([("Товар", price)])
    kkt = atol_driver.open(emu.pty_path, poll_interval=0.2)
    emu.inject("corrupt=0.002,drop=0.002")
    archive = emu.archive()
    read = dict(kkt.iter_documents(1, len(archive)))
    assert [read[n] for n in range(1, len(archive) + 1)] == archive
    assert sum(emu.fault_stats.values()) > 0
    kkt.close()


def test_one_connection_at_a_time(atol: Factory, opened: Callable[[str], AtolKkt]) -> None:
    emu = atol(pty=False)
    first = opened(emu.tcp_url)
    assert first.identity().protocol == "atol"
    with pytest.raises(PortBusyError) as caught:
        atol_driver.open(emu.tcp_url)
    assert "одно подключение" in str(caught.value)
    first.close()
    second = opened(emu.tcp_url)
    assert second.identity().protocol == "atol"


def test_the_protocol_is_found_by_probing(atol: Factory, kkt_emulator_factory: Factory
                                          ) -> None:
    for name, emu in (("atol", atol(pty=False)), ("shtrih", kkt_emulator_factory(pty=False))):
        assert detect_driver(emu.tcp_url) == name
        kkt = open_register(emu.tcp_url)
        try:
            assert kkt.identity().protocol == name
        finally:
            kkt.close()


def test_the_state_file_keeps_the_archive(atol: Factory, opened: Callable[[str], AtolKkt],
                                          tmp_path: Path) -> None:
    path = tmp_path / "atol.json"
    emu = atol(pty=False, state_path=path)
    emu.sell([("Хлеб", 4990)])
    before = emu.archive()
    emu.stop()
    again = atol(pty=False, state_path=path)
    kkt = opened(again.tcp_url)
    assert kkt.fn_status().last_fd_number == len(before)
    assert kkt.read_document(len(before)) == before[-1]


def test_ofd_queue_and_fn_answers(atol: Factory, opened: Callable[[str], AtolKkt]) -> None:
    emu = atol(pty=False)
    emu.sell([("Хлеб", 4990)])
    kkt = opened(emu.tcp_url)
    queue = kkt.ofd_queue()
    assert queue.unsent == len(emu.archive()) and queue.first_unsent_fd == 1
    emu.device.acknowledge_ofd()
    assert kkt.ofd_queue().unsent == 0
    assert kkt.execute(fn.FFD_VERSION).in_use in (2, 4)
    assert kkt.fn_status().valid_until is not None


def test_devices_finds_an_atol_register_by_protocol(atol: Factory) -> None:
    from kkt_bridge.link.discovery import probe

    emu = atol(tcp=None)
    result = probe(emu.pty_path, timeout=0.1)  # every driver asks; Shtrih-M first
    assert result is not None
    assert (result.driver, result.model) == ("atol", "АТОЛ 30Ф")
    assert result.serial == str(int(emu.device.state.identity.serial[-8:]))


def test_power_loss_mid_receipt_keeps_complete_documents_only(
        atol: Factory, opened: Callable[[str], AtolKkt]) -> None:
    emu = atol(pty=False)
    kkt = opened(emu.tcp_url)
    kkt.execute(status.ENTER_MODE, mode=1, mode_password=1)
    kkt.execute(receipt.OPEN_RECEIPT, flags=0, receipt_type=1)
    before = emu.archive()
    emu.inject("power_loss_at=1")  # the item's task dies with the power
    with pytest.raises(ModeNotAvailableError):
        # the driver adds the lost task again (B3); the register came back in mode 0
        kkt.execute(receipt.ITEM, flags=2, name="Хлеб", price=4990, quantity=1000,
                    discount_sign=0, discount=0, tax=6, section=1)
    assert emu.fault_stats["power_losses"] == 1
    assert emu.archive() == before and emu.device.receipt is None
    assert not kkt.status().receipt_open
    kkt.execute(status.ENTER_MODE, mode=1, mode_password=1)  # and the day goes on
    kkt.execute(receipt.ITEM, flags=2, name="Хлеб", price=4990, quantity=1000,
                discount_sign=0, discount=0, tax=6, section=1)
    kkt.execute(receipt.CLOSE_RECEIPT, test=0, payment_type=1, amount=4990)
    assert len(emu.archive()) == len(before) + 1


def test_a_connection_cut_mid_answer_loses_no_document(
        atol: Factory, opened: Callable[[str], AtolKkt]) -> None:
    from kkt_bridge.errors import LinkError

    emu = atol(pty=False)
    kkt = opened(emu.tcp_url)
    kkt.execute(status.ENTER_MODE, mode=1, mode_password=1)
    before = len(emu.archive())
    emu.inject("disconnect_after=1")  # the beep answers; the shift opens, its answer is cut
    kkt.execute(status.BEEP)
    with pytest.raises(LinkError):
        kkt.execute(receipt.OPEN_SHIFT, test=0)
    kkt.close()
    emu.clear_faults()
    again = opened(emu.tcp_url)
    assert again.fn_status().last_fd_number == before + 1  # the command was done
    assert again.shift().open
    assert [d for _n, d in again.iter_documents(1, before + 1)] == emu.archive()

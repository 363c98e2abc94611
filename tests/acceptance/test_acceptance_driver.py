"""Acceptance: the project's driver reads back every document the emulator stored.

Byte for byte (Shtrih FF3A + FF3B, ATOL A4 45 + A4 46: one top-level TLV a block), over
the pty and over TCP (with and without the Shtrih stray 0xFF), and each one decodes. The
reads and the restart run for every driver.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.fiscal import (
    Receipt,
    RegistrationReport,
    ShiftCloseReport,
    ShiftOpenReport,
    decode_document,
)
from kkt_bridge.kkt import Kkt, ShiftState
from kkt_bridge.registers import open_register


def a_busy_day(emu: Emulator) -> None:
    """Every kind of document cash software makes in a day, through the device API."""
    clock = emu.clock
    assert isinstance(clock, ManualClock)
    emu.open_shift()
    emu.sell([("Хлеб", 4990), ("Яблоки, кг", 12000, "1.5")])
    emu.sell([("Молоко", 8950, 2)], {"electronic": 17900})
    emu.sell([("Сахар", 7500)], {"cash": 5000, "electronic": 2500}, classic=True)
    emu.sell([("Яблоки, кг", 12000, "1.5")], operation=2)
    clock.advance(timedelta(hours=3))
    emu.sell([("Бумага", 3000)], operation=3)  # paid out of the drawer
    emu.close_shift()
    clock.advance(timedelta(hours=10))
    emu.open_shift()
    emu.sell([("Чай " * 20, 99999, "0.333")])
    emu.close_shift()


def read_all(kkt: Kkt) -> list[bytes]:
    last = kkt.fn_status().last_fd_number
    return [data for _number, data in kkt.iter_documents(1, last)]


@pytest.fixture
def emu(kkt_emulator_factory: Callable[..., Emulator]) -> Emulator:
    emulator = kkt_emulator_factory()
    a_busy_day(emulator)
    return emulator


def test_every_document_reads_back_byte_identical_and_decodes(
        kkt_emulator_factory: Callable[..., Emulator], driver: str) -> None:
    emu = kkt_emulator_factory(driver=driver)
    a_busy_day(emu)
    assert emu.pty_path
    stored = emu.archive()
    kkt = open_register(emu.pty_path, driver=driver)
    try:
        read = read_all(kkt)
    finally:
        kkt.close()
    assert read == stored
    documents = [decode_document(data) for data in read]
    assert [doc.fd_number for doc in documents] == list(range(1, len(stored) + 1))
    kinds = [type(doc) for doc in documents]
    assert kinds[0] is RegistrationReport
    assert kinds.count(ShiftOpenReport) == 2
    assert kinds.count(ShiftCloseReport) == 2
    receipts = [doc for doc in documents if isinstance(doc, Receipt)]
    assert [r.operation_type for r in receipts] == [1, 1, 1, 2, 3, 1]
    assert receipts[0].total == 4990 + 18000
    assert receipts[2].cash == 5000 and receipts[2].electronic == 2500


@pytest.mark.parametrize("stray", [True, False])
def test_over_tcp_with_and_without_the_stray_ff(
        kkt_emulator_factory: Callable[..., Emulator], stray: bool) -> None:
    emu = kkt_emulator_factory(pty=False, stray_ff=stray)
    a_busy_day(emu)
    assert emu.tcp_url
    with open_register(emu.tcp_url) as kkt:  # type: ignore[attr-defined]
        assert read_all(kkt) == emu.archive()


def test_the_driver_sees_the_state_the_device_keeps(emu: Emulator) -> None:
    assert emu.pty_path
    clock = emu.clock
    assert isinstance(clock, ManualClock)
    with open_register(emu.pty_path) as kkt:  # type: ignore[attr-defined]
        identity = kkt.identity()
        assert identity.model_code == 250
        assert "М-01Ф" in identity.model
        fn = kkt.fn_status()
        assert fn.fn_number == identity.fn_number
        assert fn.last_fd_number == len(emu.archive())
        assert fn.fiscal
        registration = kkt.registration()
        assert registration is not None
        assert registration.inn.strip() == emu.device.profile.inn
        assert kkt.status().shift is ShiftState.CLOSED
        emu.open_shift()
        assert kkt.status().shift is ShiftState.OPEN
        clock.advance(timedelta(hours=25))
        assert kkt.status().shift is ShiftState.EXPIRED
        last = decode_document(emu.archive()[-1])
        assert last.fd_number is not None
        info = kkt.document_info(last.fd_number)
        assert info.fiscal_sign == last.fiscal_sign
        assert info.document_type == last.document_type


def test_state_survives_a_restart(kkt_emulator_factory: Callable[..., Emulator],
                                  tmp_path: object, driver: str) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    state = tmp_path / "kkt.json"
    first = kkt_emulator_factory(driver=driver, state_path=state)
    a_busy_day(first)
    stored = first.archive()
    first.stop()
    second = kkt_emulator_factory(driver=driver, state_path=state)
    assert second.archive() == stored
    assert second.pty_path
    kkt = open_register(second.pty_path)  # found by probing: the state file said which
    try:
        assert kkt.identity().protocol == driver
        assert read_all(kkt) == stored
    finally:
        kkt.close()

"""Modes and submodes (reference §4) through a whole day of a register."""

from __future__ import annotations

from datetime import timedelta

from emulated_device_helpers import (
    CASHIER,
    SYSADMIN,
    close_fields,
    cmd,
    device,
    error_of,
    mode,
    ok,
    sale_line,
)

from kkt_bridge.emulation.clock import ManualClock


def test_a_day_walks_through_every_mode() -> None:
    dev = device()
    assert mode(dev) == 4  # registered, shift closed
    ok(dev, cmd(0xE0), password=CASHIER)
    assert mode(dev) == 2
    for receipt_type in (0, 1, 2, 3):
        ok(dev, cmd(0x8D), password=CASHIER, receipt_type=receipt_type)
        assert mode(dev) == 0x08 | (receipt_type << 4)
        ok(dev, cmd(0x88), password=CASHIER)
        assert mode(dev) == 2
    ok(dev, cmd(0x80), **sale_line())
    assert mode(dev) == 0x08
    ok(dev, cmd(0x85), **close_fields(cash=10000))
    assert mode(dev) == 2
    ok(dev, cmd(0x41), password=SYSADMIN)
    assert mode(dev) == 4


def test_submode_is_zero_after_every_printing_command() -> None:
    dev = device()
    for code, fields in ((0xE0, {"password": CASHIER}), (0x80, sale_line()),
                         (0x85, close_fields(cash=10000)), (0x40, {"password": SYSADMIN}),
                         (0x41, {"password": SYSADMIN})):
        ok(dev, cmd(code), **fields)
        status = ok(dev, cmd(0x10), password=CASHIER)
        assert status.submode == 0
        assert ok(dev, cmd(0x11), password=CASHIER).submode == 0


def test_sale_in_a_closed_shift_opens_it() -> None:
    dev = device()
    ok(dev, cmd(0x80), **sale_line())
    assert mode(dev) == 0x08
    assert ok(dev, cmd(0xFF40), password=SYSADMIN).shift_open == 1
    assert dev.state.archive.last is not None and dev.state.archive.last.doc_type == 2


def test_shift_over_24_hours() -> None:
    clock = ManualClock()
    dev = device(clock=clock)
    ok(dev, cmd(0xE0), password=CASHIER)
    clock.advance(timedelta(hours=24))
    assert mode(dev) == 2  # exactly 24 h is still within the shift
    clock.advance(timedelta(minutes=1))
    assert mode(dev) == 3
    assert error_of(dev, cmd(0x80), **sale_line()) == 0x4E
    assert error_of(dev, cmd(0x8D), password=CASHIER, receipt_type=0) == 0x4E
    assert error_of(dev, cmd(0x50), password=CASHIER, amount=100) == 0x4E
    ok(dev, cmd(0x41), password=SYSADMIN)  # the Z report is what the operator must do
    assert mode(dev) == 4
    ok(dev, cmd(0xE0), password=CASHIER)
    assert mode(dev) == 2


def test_paper_out_submodes_and_error() -> None:
    dev = device()
    ok(dev, cmd(0xE0), password=CASHIER)
    dev.faults.paper_out = True
    status = ok(dev, cmd(0x10), password=CASHIER)
    assert status.submode == 1
    assert status.flags & 0x0002 == 0
    ok(dev, cmd(0x80), **sale_line())  # lines are buffered, not printed
    assert error_of(dev, cmd(0x85), **close_fields(cash=10000)) == 0x6B
    assert ok(dev, cmd(0x10), password=CASHIER).submode == 2
    assert mode(dev) == 0x08  # the receipt waits for the paper
    dev.faults.paper_out = False
    assert ok(dev, cmd(0x10), password=CASHIER).submode == 0
    ok(dev, cmd(0x85), **close_fields(cash=10000))
    assert mode(dev) == 2


def test_printing_commands_refuse_without_paper() -> None:
    dev = device()
    dev.faults.paper_out = True
    assert error_of(dev, cmd(0xE0), password=CASHIER) == 0x6B
    assert error_of(dev, cmd(0x40), password=SYSADMIN) == 0x6B
    assert mode(dev) == 4


def test_a_receipt_left_open_past_24_hours_cannot_close() -> None:
    clock = ManualClock()
    dev = device(clock=clock)
    ok(dev, cmd(0x80), **sale_line())
    clock.advance(timedelta(hours=25))
    assert mode(dev) == 0x08
    assert error_of(dev, cmd(0x85), **close_fields(cash=10000)) == 0x16
    ok(dev, cmd(0x88), password=CASHIER)
    assert mode(dev) == 3


def test_no_implicit_shift_without_paper() -> None:
    dev = device()
    dev.faults.paper_out = True
    assert error_of(dev, cmd(0x80), **sale_line()) == 0x6B
    assert mode(dev) == 4 and dev.archive()[-1] == dev.archive()[0]

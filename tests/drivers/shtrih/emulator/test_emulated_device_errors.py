"""Error codes as a real device gives them, and refused commands change nothing."""

from __future__ import annotations

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
    v2_close,
    v2_line,
)


def test_not_registered_0x8f() -> None:
    dev = device(registered=False)
    assert ok(dev, cmd(0xFF01), password=SYSADMIN).lifecycle == 1
    assert error_of(dev, cmd(0xE0), password=CASHIER) == 0x8F
    assert error_of(dev, cmd(0x8D), password=CASHIER, receipt_type=0) == 0x8F
    assert error_of(dev, cmd(0x80), **sale_line()) == 0x8F
    assert error_of(dev, cmd(0xFF46), **v2_line()) == 0x8F
    assert error_of(dev, cmd(0x50), password=CASHIER, amount=100) == 0x8F
    assert error_of(dev, cmd(0x41), password=SYSADMIN) == 0x8F
    assert error_of(dev, cmd(0xFF09), password=SYSADMIN) == 0x02
    assert dev.archive() == []


def test_receipt_open_0x4a() -> None:
    dev = device()
    ok(dev, cmd(0x80), **sale_line())
    assert error_of(dev, cmd(0xE0), password=CASHIER) == 0x4A
    assert error_of(dev, cmd(0x8D), password=CASHIER, receipt_type=0) == 0x4A
    assert error_of(dev, cmd(0x41), password=SYSADMIN) == 0x4A
    assert error_of(dev, cmd(0x40), password=SYSADMIN) == 0x4A
    assert error_of(dev, cmd(0x50), password=CASHIER, amount=100) == 0x4A
    assert error_of(dev, cmd(0x1E), password=SYSADMIN, table=1, row=1, field=7,
                    value=b"\x01") == 0x4A


def test_payments_less_than_total_0x45_keeps_the_receipt() -> None:
    dev = device()
    ok(dev, cmd(0x80), **sale_line(price=10000))
    last = dev.state.archive.last_number
    assert error_of(dev, cmd(0x85), **close_fields(cash=9999)) == 0x45
    assert error_of(dev, cmd(0xFF45), **v2_close(cash=5000, electronic=4999)) == 0x45
    assert dev.state.archive.last_number == last
    assert mode(dev) == 0x08
    answer = ok(dev, cmd(0x85), **close_fields(cash=5000, electronic=5000))
    assert answer.change == 0


def test_wrong_mode_0x73() -> None:
    dev = device()
    assert error_of(dev, cmd(0x41), password=SYSADMIN) == 0x73  # shift already closed
    ok(dev, cmd(0xE0), password=CASHIER)
    assert error_of(dev, cmd(0xE0), password=CASHIER) == 0x73  # shift already open
    assert error_of(dev, cmd(0xFF05), password=SYSADMIN, report_type=2) == 0x73
    ok(dev, cmd(0x80), **sale_line())
    # a purchase line does not fit into an open sale receipt
    assert error_of(dev, cmd(0x81), **sale_line()) == 0x73
    assert error_of(dev, cmd(0xFF46), **v2_line(operation=3)) == 0x73


def test_wrong_password_0x4f() -> None:
    dev = device()
    assert error_of(dev, cmd(0x10), password=31) == 0x4F
    assert error_of(dev, cmd(0x11), password=0) == 0x4F
    # tables and ФН commands want the system administrator
    assert error_of(dev, cmd(0x1F), password=CASHIER, table=2, row=1, field=1) == 0x4F
    assert error_of(dev, cmd(0xFF01), password=29) == 0x4F
    assert error_of(dev, cmd(0x41), password=CASHIER) == 0x4F
    assert error_of(dev, cmd(0x40), password=27) == 0x4F
    ok(dev, cmd(0x40), password=28)


def test_changed_password_takes_effect() -> None:
    dev = device()
    ok(dev, cmd(0x1E), password=SYSADMIN, table=2, row=1, field=1,
       value=(4321).to_bytes(4, "little"))
    assert error_of(dev, cmd(0x10), password=CASHIER) == 0x4F
    assert ok(dev, cmd(0x10), password=4321).operator == 1


def test_unknown_and_garbled_commands() -> None:
    dev = device()
    assert dev.handle(b"\x99\x01\x00\x00\x00") == b"\x99\x37"
    assert dev.handle(b"\xff\xee\x1e\x00\x00\x00") == b"\xff\xee\x37"
    assert dev.handle(b"\x10\x01") == b"\x10\x33"  # short password
    assert dev.handle(b"\xff\x01") == b"\xff\x01\x33"
    assert dev.handle(b"\xff") == b"\xff\x37"
    assert dev.handle(b"") == b"\x00\x37"
    assert dev.internal_errors == []


def test_closed_receipt_0x55_and_zero_total_0x8e() -> None:
    dev = device()
    assert error_of(dev, cmd(0x88), password=CASHIER) == 0x55
    assert error_of(dev, cmd(0x85), **close_fields(cash=0)) == 0x55
    assert error_of(dev, cmd(0x86), password=CASHIER, amount=1, taxes=[0] * 4, text="") == 0x55
    ok(dev, cmd(0x8D), password=CASHIER, receipt_type=0)
    assert error_of(dev, cmd(0x85), **close_fields(cash=0)) == 0x8E


def test_cash_out_more_than_in_the_drawer_0x46() -> None:
    dev = device()
    ok(dev, cmd(0x50), password=CASHIER, amount=5000)
    assert error_of(dev, cmd(0x51), password=CASHIER, amount=5001) == 0x46
    answer = ok(dev, cmd(0x51), password=CASHIER, amount=5000)
    assert answer.operator == CASHIER
    # a cash refund needs cash in the drawer
    ok(dev, cmd(0x82), **sale_line())
    assert error_of(dev, cmd(0x85), **close_fields(cash=10000)) == 0x46
    ok(dev, cmd(0x85), **close_fields(cash=0, electronic=10000))


def test_bad_parameters_0x33() -> None:
    dev = device()
    assert error_of(dev, cmd(0x8D), password=CASHIER, receipt_type=4) == 0x33
    assert error_of(dev, cmd(0x80), **sale_line(quantity=0)) == 0x33
    assert error_of(dev, cmd(0x80), **sale_line(department=17)) == 0x33
    assert error_of(dev, cmd(0x80), **sale_line(taxes=[9, 0, 0, 0])) == 0x33
    assert error_of(dev, cmd(0xFF46), **v2_line(tax_rate=0x03)) == 0x33
    assert error_of(dev, cmd(0xFF46), **v2_line(operation=5)) == 0x33
    assert mode(dev) == 4  # nothing was opened by the refused lines
    assert dev.state.shift.number == 0

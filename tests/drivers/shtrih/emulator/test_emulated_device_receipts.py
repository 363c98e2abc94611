"""Receipts as cash software makes them: lines, discounts, V2 commands, TLVs, closing."""

from __future__ import annotations

from datetime import datetime

import pytest
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

from kkt_bridge.drivers.shtrih.emulator.device import EmulatedDevice
from kkt_bridge.drivers.shtrih.errors import NotEnoughCashError
from kkt_bridge.fiscal import decode_document, encode_tlv, parse_document


def _last_tags(dev: EmulatedDevice) -> dict[int, object]:
    return dict(parse_document(dev.archive()[-1])[1])


def _items(dev: EmulatedDevice) -> list[dict[int, object]]:
    return [dict(value) for tag, value in parse_document(dev.archive()[-1])[1]  # type: ignore[arg-type]
            if tag == 1059]


def test_weighed_goods_and_change() -> None:
    dev = device()
    ok(dev, cmd(0x80), **sale_line(quantity=1234, price=25990, taxes=[4, 0, 0, 0],
                                   text="Сыр весовой"))
    answer = ok(dev, cmd(0x85), **close_fields(cash=50000))
    assert answer.operator == CASHIER
    assert answer.change == 50000 - 32072  # 1.234 kg x 259.90 = 320.7166
    item = _items(dev)[0]
    assert str(item[1023]) == "1.234000" and item[1030] == "Сыр весовой"
    assert _last_tags(dev)[1031] == 32072


def test_classic_discount_surcharge_and_percent() -> None:
    dev = device()
    ok(dev, cmd(0x80), **sale_line(price=10000))
    ok(dev, cmd(0x86), password=CASHIER, amount=1000, taxes=[0] * 4, text="Скидка")
    ok(dev, cmd(0x80), **sale_line(price=5000))
    ok(dev, cmd(0x87), password=CASHIER, amount=500, taxes=[0] * 4, text="Надбавка")
    assert error_of(dev, cmd(0x86), password=CASHIER, amount=6000, taxes=[0] * 4,
                    text="") == 0x33  # more than the line
    # 10 % off the whole receipt: 9000 + 5500 = 14500 -> 13050
    ok(dev, cmd(0x85), **close_fields(cash=13050, discount_percent=1000))
    items = _items(dev)
    assert [item[1043] for item in items] == [8100, 4950]
    assert _last_tags(dev)[1020] == 13050


def test_close_extended_8e_with_sixteen_payments() -> None:
    dev = device()
    ok(dev, cmd(0x80), **sale_line(price=30000))
    payments = [10000, 5000] + [0] * 11 + [5000, 5000, 5000]
    answer = ok(dev, cmd(0x8E), password=CASHIER, payments=payments, discount_percent=0,
                taxes=[0] * 4, text="")
    assert answer.change == 0
    tags = _last_tags(dev)
    assert (tags[1031], tags[1081], tags[1215], tags[1216], tags[1217]) == (
        10000, 5000, 5000, 5000, 5000)


def test_v2_operation_with_tlvs_and_ff45_answer() -> None:
    dev = device()
    ok(dev, cmd(0xFF46), **v2_line(quantity=2_000_000, price=12000, tax_rate=0x01,
                                   payment_subject=1, name="//Кофе"))
    ok(dev, cmd(0xFF4D), password=SYSADMIN, tlv=encode_tlv(1197, "шт", 1059))
    ok(dev, cmd(0xFF4D), password=SYSADMIN, tlv=encode_tlv(1162, b"\x00\x05" + b"1" * 6, 1059))
    ok(dev, cmd(0xFF0C), password=SYSADMIN, tlv=encode_tlv(1008, "buyer@example.org"))
    ok(dev, cmd(0xFF46), **v2_line(quantity=500_000, price=1000, amount=600, tax_amount=100,
                                   tax_rate=0x10, payment_method=1, payment_subject=10,
                                   name="Услуга"))
    answer = ok(dev, cmd(0xFF45), **v2_close(cash=30000, electronic=0))
    document = dev.state.archive.last
    assert document is not None
    assert (answer.change, answer.document_number, answer.fiscal_sign) == (
        30000 - 24600, document.number, document.fiscal_sign)
    assert answer.datetime is None
    raw = dev.handle(cmd(0xFF45).build_request(**v2_close(cash=1)))
    assert raw == b"\xff\x45\x55"  # the receipt is closed now
    first, second = _items(dev)
    assert first[1030] == "Кофе" and first[1197] == "шт" and first[1162] == b"\x00\x05111111"
    assert (first[1199], first[1043], first[1200]) == (1, 24000, 4000)
    assert (second[1214], second[1212], second[1199], second[1043], second[1200]) == (
        1, 10, 3, 600, 100)
    tags = _last_tags(dev)
    assert tags[1008] == "buyer@example.org"
    assert tags[1102] == 4000 and tags[1106] == 100


def test_ff45_real_answer_layout_and_extended_answer() -> None:
    dev = device()
    ok(dev, cmd(0xFF46), **v2_line())
    raw = dev.handle(cmd(0xFF45).build_request(**v2_close(cash=10000)))
    assert raw[:3] == b"\xff\x45\x00" and len(raw) == 3 + 5 + 4 + 4
    ok(dev, cmd(0x1E), password=SYSADMIN, table=17, row=1, field=36, value=b"\x01")
    ok(dev, cmd(0xFF46), **v2_line())
    answer = ok(dev, cmd(0xFF45), **v2_close(cash=10000))
    assert isinstance(answer.datetime, datetime)


def test_ff45_tax_system_and_rounding() -> None:
    dev = device()
    ok(dev, cmd(0xFF46), **v2_line(price=10050))
    assert error_of(dev, cmd(0xFF45), **v2_close(cash=10050, tax_system=0b10)) == 0x33
    assert error_of(dev, cmd(0xFF45), **v2_close(cash=10050, tax_system=0b11)) == 0x33
    ok(dev, cmd(0xFF45), **v2_close(cash=10000, rounding=50, tax_system=0b1))
    tags = _last_tags(dev)
    assert tags[1055] == 1 and tags[1020] == 10000


def test_ff4b_receipt_discount_and_bad_tlv() -> None:
    dev = device()
    ok(dev, cmd(0xFF46), **v2_line(price=10000))
    ok(dev, cmd(0xFF46), **v2_line(price=30000))
    ok(dev, cmd(0xFF4B), password=SYSADMIN, discount=4000, surcharge=0, tax=0, text="")
    # a TLV whose U32 has three bytes does not decode: refused, nothing added
    assert error_of(dev, cmd(0xFF0C), password=SYSADMIN,
                    tlv=b"\x26\x04\x03\x00\x01\x02\x03") == 0x33
    assert error_of(dev, cmd(0xFF0C), password=SYSADMIN, tlv=b"") == 0x33
    ok(dev, cmd(0xFF45), **v2_close(cash=36000))
    assert [item[1043] for item in _items(dev)] == [9000, 27000]


def test_tlv_outside_a_document_is_refused() -> None:
    dev = device()
    assert error_of(dev, cmd(0xFF0C), password=SYSADMIN,
                    tlv=encode_tlv(1008, "a@b.c")) == 0x02
    assert error_of(dev, cmd(0xFF4D), password=SYSADMIN, tlv=encode_tlv(1197, "шт", 1059)) == 0x55


def test_cancel_throws_the_receipt_away() -> None:
    dev = device()
    dev.open_shift()
    before = dev.archive()
    ok(dev, cmd(0x80), **sale_line())
    assert ok(dev, cmd(0x10), password=CASHIER).operations_low == 1
    assert ok(dev, cmd(0x88), password=CASHIER).operator == CASHIER
    assert dev.archive() == before and mode(dev) == 2
    assert ok(dev, cmd(0xFF40), password=SYSADMIN).receipt_number == 0


def test_cash_in_out_answer_the_document_number() -> None:
    dev = device()
    first = ok(dev, cmd(0x50), password=CASHIER, amount=10000)
    second = ok(dev, cmd(0x51), password=CASHIER, amount=2500)
    assert second.document_number == first.document_number + 1
    assert ok(dev, cmd(0x11), password=CASHIER).document_number == second.document_number
    assert dev.state.cash_in_drawer == 7500
    assert error_of(dev, cmd(0x50), password=CASHIER, amount=0) == 0x33


def test_return_and_purchase_receipts() -> None:
    dev = device()
    dev.open_shift()
    dev.sell([("Хлеб", 4500)])
    refund = dev.sell([("Хлеб", 4500)], operation=2, classic=True)
    assert _last_tags(dev)[1054] == 2 and refund.total == 4500
    with pytest.raises(NotEnoughCashError):  # the drawer is empty after the refund
        dev.sell([("Металлолом", 1000, 3)], {"cash": 3000}, operation=3)
    assert dev.receipt is None  # sell() cancels what it could not close
    ok(dev, cmd(0x50), password=CASHIER, amount=3000)
    purchase = dev.sell([("Металлолом", 1000, 3)], {"cash": 3000}, operation=3)
    assert _last_tags(dev)[1054] == 3 and purchase.total == 3000
    assert dev.state.cash_in_drawer == 0
    assert ok(dev, cmd(0xFF40), password=SYSADMIN).receipt_number == 3


def test_correction_receipt_ff35_ff36() -> None:
    dev = device()
    assert error_of(dev, cmd(0xFF35), password=SYSADMIN) == 0x73  # the shift is closed
    dev.open_shift()
    assert error_of(dev, cmd(0xFF36), password=SYSADMIN, amount=1000, operation=1) == 0x02
    ok(dev, cmd(0xFF35), password=SYSADMIN)
    assert error_of(dev, cmd(0xFF36), password=SYSADMIN, amount=1000, operation=2) == 0x33
    answer = ok(dev, cmd(0xFF36), password=SYSADMIN, amount=1000, operation=1)
    assert answer.receipt_number == 1 and answer.document_number == 3
    doc_type, tags = parse_document(dev.archive()[-1])
    values = dict(tags)
    assert doc_type == 31 and values[1020] == 1000 and values[1054] == 1
    assert ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=3).details.total == 1000
    assert decode_document(dev.archive()[-1]) is not None


MONEY_LIMIT = 0xFF_FFFF_FFFF  # the 5-byte money field


@pytest.mark.parametrize("lines", [
    [sale_line(quantity=2000, price=MONEY_LIMIT)],  # one line over the field
    [sale_line(price=MONEY_LIMIT // 2 + 1), sale_line(price=MONEY_LIMIT // 2 + 1)],  # the sum
])
def test_a_total_over_the_money_field_is_refused_with_0x48(lines: list[dict[str, int]]) -> None:
    dev = device()
    *accepted, last = lines
    for fields in accepted:
        ok(dev, cmd(0x80), **fields)
    before = (mode(dev), len(dev.archive()))
    assert error_of(dev, cmd(0x80), **last) == 0x48  # переполнение итога чека
    assert (mode(dev), len(dev.archive())) == before, "a refused line changes nothing"
    if accepted:
        ok(dev, cmd(0x88), password=CASHIER)  # what is left can still be cancelled
    # every document of the ФН still answers FF0A (the total used to overflow there)
    for number in range(1, len(dev.archive()) + 1):
        ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=number)


def test_v2_line_and_payments_over_the_money_field_are_refused() -> None:
    dev = device()
    assert error_of(dev, cmd(0xFF46), **v2_line(quantity=3_000_000,
                                                 price=MONEY_LIMIT // 2)) == 0x48
    ok(dev, cmd(0xFF46), **v2_line(price=MONEY_LIMIT // 2))
    assert error_of(dev, cmd(0xFF45), **v2_close(cash=MONEY_LIMIT // 2,
                                                 electronic=MONEY_LIMIT)) == 0x48
    ok(dev, cmd(0xFF45), **v2_close(cash=MONEY_LIMIT // 2))
    assert ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=len(dev.archive())).details

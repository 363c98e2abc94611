"""The ФН archive: FF0A, FF3A/FF3B byte identity, decoding, counters that agree."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from emulated_device_helpers import (
    CASHIER,
    SYSADMIN,
    close_fields,
    cmd,
    device,
    error_of,
    ok,
    read_document_tlv,
    sale_line,
    v2_line,
)

from kkt_bridge.drivers.shtrih.emulator.device import EmulatedDevice, Item
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.fiscal import (
    Receipt,
    ShiftCloseReport,
    ShiftOpenReport,
    decode_document,
    encode_tlv,
    fiscal_sign_number,
    parse_document,
)

_V2_LINE = v2_line()


def _busy_day(dev: EmulatedDevice) -> None:
    dev.open_shift()
    dev.sell([Item("Хлеб", 4500, 2, vat=1), Item("Сахар", 9000, "0.750", vat=2)],
             {"cash": 20000})
    dev.sell([("Молоко", 8990)], {"electronic": 8990}, classic=True)
    dev.sell([("Молоко", 8990)], {"electronic": 8990}, operation=2)
    ok(dev, cmd(0x50), password=CASHIER, amount=100000)
    dev.close_shift()


def test_every_document_reads_back_byte_identical_and_decodes() -> None:
    dev = device()
    _busy_day(dev)
    stored = dev.archive()
    assert [parse_document(doc)[0] for doc in stored] == [1, 2, 3, 3, 3, 5]
    for number, document in enumerate(stored, start=1):
        assert read_document_tlv(dev, number) == document
        decoded = decode_document(document)
        tags: dict[int, Any] = dict(parse_document(document)[1])
        assert tags[1040] == number
        assert tags[1041] == dev.state.identity.fn_number
        found = ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=number)
        assert found.fd_number == number
        assert found.fiscal_sign == fiscal_sign_number(tags[1077])
        assert found.created_at == tags[1012]
        assert decoded is not None
    assert isinstance(decode_document(stored[1]), ShiftOpenReport)
    assert isinstance(decode_document(stored[2]), Receipt)
    assert isinstance(decode_document(stored[5]), ShiftCloseReport)
    assert dev.internal_errors == []


def test_ff0a_details_per_type() -> None:
    dev = device()
    _busy_day(dev)
    registration = ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=1)
    assert registration.document_type == 1
    assert registration.details.inn.strip() == dev.profile.inn
    assert ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=2).details.shift_number == 1
    receipt = ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=3)
    assert (receipt.details.operation, receipt.details.total) == (1, 4500 * 2 + 6750)
    refund = ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=5)
    assert (refund.details.operation, refund.details.total) == (2, 8990)
    assert ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=6).details.shift_number == 1
    assert error_of(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=7) == 0x08
    assert error_of(dev, cmd(0xFF3A), password=SYSADMIN, fd_number=0) == 0x08


def test_ff3b_without_ff3a_and_after_the_end() -> None:
    dev = device()
    assert error_of(dev, cmd(0xFF3B), password=SYSADMIN) == 0x08
    read_document_tlv(dev, 1)
    assert error_of(dev, cmd(0xFF3B), password=SYSADMIN) == 0x08


def test_one_top_level_tlv_per_ff3b() -> None:
    dev = device()
    dev.open_shift()
    dev.sell([("Хлеб", 4500), ("Соль", 1500)])
    number = dev.state.archive.last_number
    ok(dev, cmd(0xFF3A), password=SYSADMIN, fd_number=number)
    blocks = []
    while True:
        error, answer = (lambda r: (r[2], r[3:]))(dev.handle(cmd(0xFF3B).build_request(
            password=SYSADMIN)))
        if error:
            break
        blocks.append(answer)
    tags = parse_document(dev.archive()[-1])[1]
    assert len(blocks) == len(tags)
    for block, (tag, _value) in zip(blocks, tags, strict=True):
        assert int.from_bytes(block[:2], "little") == tag
        assert len(block) == 4 + int.from_bytes(block[2:4], "little")


def _counters(dev: EmulatedDevice) -> dict[str, int]:
    fn = ok(dev, cmd(0xFF01), password=SYSADMIN)
    exchange = ok(dev, cmd(0xFF39), password=SYSADMIN)
    shift = ok(dev, cmd(0xFF40), password=SYSADMIN)
    status = ok(dev, cmd(0x11), password=CASHIER)
    unconfirmed = ok(dev, cmd(0xFF3F), password=SYSADMIN).count
    assert fn.document_data in (0, 1) and fn.shift_open in (0, 1)  # pyshtrih insists
    assert fn.shift_open == shift.shift_open
    assert exchange.queue_length == unconfirmed
    if exchange.queue_length:
        assert exchange.first_unsent_fd + exchange.queue_length - 1 == fn.last_fd_number
    assert status.last_closed_shift == shift.shift_number - shift.shift_open
    last = dev.state.archive.last
    if last is not None:
        assert fn.last_document_at == last.created_at
    return {"last_fd": fn.last_fd_number, "shift": shift.shift_number,
            "receipt": shift.receipt_number, "queue": exchange.queue_length}


def test_counters_agree_across_ff01_ff39_ff40_and_0x11() -> None:
    dev = device()
    assert _counters(dev) == {"last_fd": 1, "shift": 0, "receipt": 0, "queue": 1}
    dev.open_shift()
    assert _counters(dev) == {"last_fd": 2, "shift": 1, "receipt": 0, "queue": 2}
    dev.sell([("Хлеб", 4500)])
    dev.sell([("Хлеб", 4500)], classic=True)
    assert _counters(dev) == {"last_fd": 4, "shift": 1, "receipt": 2, "queue": 4}
    dev.acknowledge_ofd(up_to=3)
    assert _counters(dev) == {"last_fd": 4, "shift": 1, "receipt": 2, "queue": 1}
    dev.close_shift()
    assert _counters(dev) == {"last_fd": 5, "shift": 1, "receipt": 2, "queue": 2}
    dev.acknowledge_ofd()
    assert _counters(dev)["queue"] == 0
    assert ok(dev, cmd(0xFF39), password=SYSADMIN).first_unsent_at is None
    dev.open_shift()
    assert _counters(dev) == {"last_fd": 6, "shift": 2, "receipt": 0, "queue": 1}


def test_documents_carry_the_device_clock() -> None:
    clock = ManualClock()
    dev = device(clock=clock)
    clock.advance(timedelta(hours=3, minutes=17, seconds=42))
    dev.open_shift()
    tags = dict(parse_document(dev.archive()[-1])[1])
    assert tags[1012] == (clock.now()).replace(second=0)
    dev.set_clock_offset(timedelta(days=1))
    dev.sell([("Хлеб", 4500)])
    moved: Any = dict(parse_document(dev.archive()[-1])[1])[1012]
    assert moved.day == clock.now().day + 1


def test_signs_are_deterministic_by_seed() -> None:
    first, second, other = device(seed=1), device(seed=1), device(seed=2)
    for dev in (first, second, other):
        dev.open_shift()
        dev.sell([("Хлеб", 4500)])
    assert first.archive() == second.archive()
    assert first.archive()[-1] != other.archive()[-1]


def test_receipt_requisites_of_a_real_device() -> None:
    dev = device()
    ok(dev, cmd(0x80), **sale_line(price=12345, quantity=2500, taxes=[2, 0, 0, 0]))
    ok(dev, cmd(0x85), **close_fields(cash=50000))
    tags = parse_document(dev.archive()[-1])[1]
    names = [tag for tag, _ in tags]
    for tag in (1000, 1209, 1048, 1018, 1042, 1012, 1038, 1054, 1055, 1021, 1037, 1009, 1187,
                1059, 1020, 1031, 1081, 1215, 1216, 1217, 1060, 1040, 1041, 1077):
        assert tag in names, tag
    assert names[-3:] == [1040, 1041, 1077]
    values = dict(tags)
    item = dict(values[1059])  # type: ignore[arg-type]
    for tag in (1214, 1212, 1030, 1079, 1023, 1199, 1043):
        assert tag in item
    assert str(item[1023]) == "2.500000"
    assert item[1043] == 30863  # 2.5 x 123.45 = 308.625, rounded half up
    assert item[1199] == 2 and values[1103] == item[1200] == round(30863 * 10 / 110)
    assert values[1020] == values[1031] == 30863


def test_a_tlv_longer_than_a_frame_comes_in_pieces() -> None:
    dev = device()
    ok(dev, cmd(0xFF46), **{**_V2_LINE, "name": "Ж" * 128})
    ok(dev, cmd(0xFF4D), password=SYSADMIN, tlv=encode_tlv(1191, "д" * 64, 1059))
    ok(dev, cmd(0xFF4D), password=SYSADMIN, tlv=encode_tlv(1197, "упаковка", 1059))
    ok(dev, cmd(0xFF4D), password=SYSADMIN, tlv=encode_tlv(1222, 1, 1059))
    ok(dev, cmd(0xFF45), password=SYSADMIN, payments=[100000] + [0] * 15, rounding=0,
       tax_sums=[0] * 6, tax_system=0, text="")
    document = dev.archive()[-1]
    item = next(value for tag, value in parse_document(document)[1] if tag == 1059)
    assert len(encode_tlv(1059, item)) > 252
    assert read_document_tlv(dev, dev.state.archive.last_number) == document

"""Registration and re-registration the way cash software does it (reference §8)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from emulated_device_helpers import CASHIER, SYSADMIN, cmd, device, error_of, ok

from kkt_bridge.drivers.shtrih.emulator.device import EmulatedDevice
from kkt_bridge.drivers.shtrih.emulator.profile import (
    DEMO_PROFILE,
    Profile,
    crc16_ccitt,
    inn_is_valid,
    load_profile,
    rnm_is_valid,
    rnm_with_check,
)
from kkt_bridge.errors import ConfigError
from kkt_bridge.fiscal import decode_document, parse_document

SERIAL = DEMO_PROFILE.kkt_serial
INN = "5001007329"


def _write(dev: EmulatedDevice, table: int, field: int, text: str) -> None:
    ok(dev, cmd(0x1E), password=SYSADMIN, table=table, row=1, field=field,
       value=text.encode("cp1251"))


def _register_by_hand(dev: EmulatedDevice, rnm: str, tax: int = 0b10, mode: int = 0) -> Any:
    _write(dev, 18, 7, "ИП Петров")
    _write(dev, 18, 9, "г. Тула, ул. Ленина, 5")
    _write(dev, 18, 10, "ОФД")
    _write(dev, 18, 12, "7704211201")
    _write(dev, 18, 14, "Киоск")
    _write(dev, 19, 1, "ofd.example")
    ok(dev, cmd(0xFF05), password=SYSADMIN, report_type=0)
    return ok(dev, cmd(0xFF06), password=SYSADMIN, inn=INN, rnm=rnm, tax_systems=tax,
              work_mode=mode)


def test_crc_and_rnm_check_digits() -> None:
    assert crc16_ccitt(b"123456789") == 0x29B1  # the CRC-16/CCITT-FALSE check value
    rnm = rnm_with_check("0000000001", INN, SERIAL)
    assert len(rnm) == 16 and rnm.startswith("0000000001")
    assert rnm_is_valid(rnm, INN, SERIAL)
    assert not rnm_is_valid(rnm, INN, "0000000000000001")
    assert not rnm_is_valid(rnm[:-1] + str((int(rnm[-1]) + 1) % 10), INN, SERIAL)
    with pytest.raises(ConfigError):
        rnm_with_check("12345", INN, SERIAL)


def test_inn_check_digits() -> None:
    assert inn_is_valid("7701234560") and inn_is_valid(INN)
    assert not inn_is_valid("7701234561")
    assert inn_is_valid("500100732259")  # a valid 12-digit INN
    assert not inn_is_valid("50010073225")


def test_fresh_device_registers_with_ff05_ff06() -> None:
    dev = device(registered=False)
    assert ok(dev, cmd(0x11), password=CASHIER).registrations == 0
    rnm = rnm_with_check("0000000077", INN, SERIAL)
    answer = _register_by_hand(dev, rnm)
    assert answer.document_number == 1
    assert ok(dev, cmd(0xFF01), password=SYSADMIN).lifecycle == 3
    last = ok(dev, cmd(0xFF09), password=SYSADMIN)
    assert last.inn == INN.ljust(12) and last.rnm == rnm.ljust(20)
    assert (last.tax_systems, last.work_mode) == (0b10, 0)
    assert last.tail.fd_number == 1 and last.tail.fiscal_sign == answer.fiscal_sign
    status = ok(dev, cmd(0x11), password=CASHIER)
    assert status.registrations == 1 and status.inn == int(INN)
    table = lambda field: ok(dev, cmd(0x1F), password=SYSADMIN, table=18, row=1,  # noqa: E731
                             field=field).value
    assert table(2).rstrip(b"\x00").decode() == INN
    assert table(3).rstrip(b"\x00").decode() == rnm
    assert table(5) == b"\x02" and table(6) == b"\x00"
    doc_type, tags = parse_document(dev.archive()[0])
    assert doc_type == 1
    values = dict(tags)
    assert values[1018] == INN.ljust(12) and values[1037] == rnm.ljust(20)
    assert values[1062] == 0b10 and values[1048] == "ИП Петров"
    report = decode_document(dev.archive()[0])
    assert report is not None
    # now it sells
    ok(dev, cmd(0xE0), password=CASHIER)


def test_registration_refuses_a_foreign_rnm_and_a_bad_inn() -> None:
    dev = device(registered=False)
    foreign = rnm_with_check("0000000077", INN, "0000000000000099")
    ok(dev, cmd(0xFF05), password=SYSADMIN, report_type=0)
    assert error_of(dev, cmd(0xFF06), password=SYSADMIN, inn=INN, rnm=foreign,
                    tax_systems=1, work_mode=0) == 0x33
    good = rnm_with_check("0000000077", INN, SERIAL)
    assert error_of(dev, cmd(0xFF06), password=SYSADMIN, inn="5001007320", rnm=good,
                    tax_systems=1, work_mode=0) == 0x33
    assert error_of(dev, cmd(0xFF06), password=SYSADMIN, inn=INN, rnm=good,
                    tax_systems=0, work_mode=0) == 0x33
    assert dev.archive() == []
    assert ok(dev, cmd(0xFF01), password=SYSADMIN).lifecycle == 1


def test_ff06_without_ff05_and_twice() -> None:
    dev = device(registered=False)
    rnm = rnm_with_check("0000000077", INN, SERIAL)
    assert error_of(dev, cmd(0xFF06), password=SYSADMIN, inn=INN, rnm=rnm, tax_systems=1,
                    work_mode=0) == 0x02
    _register_by_hand(dev, rnm)
    assert error_of(dev, cmd(0xFF05), password=SYSADMIN, report_type=0) == 0x02


def test_reregistration_with_ff34() -> None:
    dev = device()
    assert len(dev.archive()) == 1  # the demo registration is ФД 1
    ok(dev, cmd(0xFF05), password=SYSADMIN, report_type=2)
    assert ok(dev, cmd(0xFF01), password=SYSADMIN).current_document == 0x13
    answer = ok(dev, cmd(0xFF34), password=SYSADMIN, inn=DEMO_PROFILE.inn,
                rnm=DEMO_PROFILE.rnm, tax_systems=0b11, work_mode=0b100000, reason=4)
    assert answer.document_number == 2
    doc_type, tags = parse_document(dev.archive()[1])
    values = dict(tags)
    assert doc_type == 11 and values[1101] == 4 and values[1062] == 0b11
    assert values[1108] == 1  # internet mode flag from work mode bit 5
    assert ok(dev, cmd(0xFF09), password=SYSADMIN).tax_systems == 0b11
    assert ok(dev, cmd(0x11), password=CASHIER).registrations == 2
    found = ok(dev, cmd(0xFF0A), password=SYSADMIN, fd_number=2)
    assert found.document_type == 11 and found.details.reason == 4


def test_register_api_and_ffd_12_profile() -> None:
    profile = Profile(inn=INN, rnm_sequence="0000000123", ffd="1.2", tax_systems=0b100001,
                      user_name="ИП Сидоров", cashier="Сидоров С.С.")
    dev = device(profile=profile)
    doc_type, tags = parse_document(dev.archive()[0])
    assert doc_type == 1 and dict(tags)[1209] == 4
    dev.open_shift()
    sale = dev.sell([("Чай", 15000)])
    items = [value for tag, value in parse_document(sale.document)[1] if tag == 1059]
    first: Any = items[0]
    assert dict(first)[2108] == 0  # FFD 1.2 measure instead of 1197
    assert dict(parse_document(sale.document)[1])[1021] == "СИСТ. АДМИН."
    assert ok(dev, cmd(0xFF09), password=SYSADMIN).tail.reason == 0  # the 1.1+ layout


def test_profile_from_json(tmp_path: Path) -> None:
    path = tmp_path / "profile.json"
    path.write_text(json.dumps({"inn": INN, "rnm_sequence": "0000000005",
                                "tax_systems": ["osn", "patent"], "ffd": "1.2",
                                "address": "г. Тверь"}), encoding="utf-8")
    profile = load_profile(path)
    assert profile.tax_systems == 0b100001 and not profile.kkt_serial
    # the RNM's check digits bind it to the serial: computed once the register has one
    assert rnm_is_valid(profile.with_serial(SERIAL).rnm, INN, SERIAL)
    assert profile.with_serial(SERIAL).rnm.startswith("0000000005")
    path.write_text(json.dumps({"inn": INN, "rnm": "0000000005000000"}), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_profile(path)
    path.write_text(json.dumps({"inn": INN, "colour": "red"}), encoding="utf-8")
    with pytest.raises(ConfigError):
        load_profile(path)
    path.write_text("{", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_profile(path)
    with pytest.raises(ConfigError):
        load_profile(tmp_path / "missing.json")

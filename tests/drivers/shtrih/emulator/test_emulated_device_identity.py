"""Identity: what 0xFC, 0x11 and the ФН queries say, and that pyshtrih recognises it."""

from __future__ import annotations

from datetime import date

import pyshtrih
from emulated_device_helpers import CASHIER, SYSADMIN, cmd, device, ok

from kkt_bridge.drivers.shtrih.emulator.profile import DEMO_PROFILE


def test_device_type_names_a_model_pyshtrih_knows() -> None:
    dev = device()
    answer = ok(dev, cmd(0xFC))
    name = answer.name.decode("cp1251")
    assert name == "ШТРИХ-М-01Ф"
    assert (answer.type, answer.subtype, answer.model, answer.language) == (0, 0, 250, 0)
    assert (answer.protocol_version, answer.protocol_subversion) == (1, 14)
    # pyshtrih picks its class by a substring of the name: ours must match ShtrihM01F's
    assert "М-01Ф" in name and pyshtrih.ShtrihM01F.DEFAULT_MAX_LENGTH == 48


def test_full_status_dates_are_valid_and_serial_matches() -> None:
    dev = device()
    status = ok(dev, cmd(0x11), password=CASHIER)
    assert isinstance(status.firmware_date, date) and isinstance(status.fp_date, date)
    assert status.date == date(2026, 3, 2)
    assert status.serial == int(DEMO_PROFILE.kkt_serial)
    assert status.operator == CASHIER


def test_fn_number_validity_and_version() -> None:
    dev = device()
    number = ok(dev, cmd(0xFF02), password=SYSADMIN).fn_number
    assert len(number) == 16 and number.isdigit()
    validity = ok(dev, cmd(0xFF03), password=SYSADMIN)
    assert validity.valid_until > date(2026, 3, 2)
    assert validity.registrations_done == 1
    assert ok(dev, cmd(0xFF01), password=SYSADMIN).fn_number == number
    assert ok(dev, cmd(0xFF04), password=SYSADMIN).version


def test_operator_byte_is_the_matched_password_row() -> None:
    dev = device()
    for row in (1, 7, 28, 29, 30):
        assert ok(dev, cmd(0x10), password=row).operator == row
        assert ok(dev, cmd(0x13), password=row).operator == row

"""Acceptance: a client registers and re-registers the emulator over the wire (reference §8).

The project's driver does what cash software does, through its declared commands on the pty:
fill tables 18 and 19, FF05 + FF06; later FF05 + FF34. Nothing goes through the device's
Python API, so the test proves the protocol path, not a shortcut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kkt_bridge.drivers.shtrih.commands.registration import (
    BEGIN_REGISTRATION_REPORT,
    REASON_SETTINGS_CHANGED,
    REGISTRATION_REPORT,
    REPORT_CHANGE,
    REPORT_REGISTRATION,
    REREGISTRATION_REPORT,
)
from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.drivers.shtrih.emulator.profile import rnm_with_check
from kkt_bridge.errors import DeviceError
from kkt_bridge.fiscal import parse_document
from kkt_bridge.kkt import FnLifecycle
from kkt_bridge.registers import open_register

INN = "5001007329"


def rnm_for(kkt: Any) -> str:
    """The RNM the tax office issues for this register: its check digits follow the serial
    the register reports (each new emulator has its own)."""
    return rnm_with_check("0000000077", INN, kkt.identity().serial)
TAX_USN_INCOME = 0b10
WORK_MODE_INTERNET = 0b100000


@pytest.fixture
def fresh(kkt_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return kkt_emulator_factory(registered=False, tcp=None)


@pytest.fixture
def kkt(fresh: Emulator) -> Iterator[Any]:
    assert fresh.pty_path
    with open_register(fresh.pty_path) as register:  # type: ignore[attr-defined]
        yield register


def fill_tables(kkt: Any) -> None:
    kkt.write_field(18, 1, 7, "ИП Петров")
    kkt.write_field(18, 1, 9, "г. Тула, ул. Ленина, 5")
    kkt.write_field(18, 1, 10, 'ООО "ОФД"')
    kkt.write_field(18, 1, 12, "7704211201")
    kkt.write_field(18, 1, 14, "Киоск у вокзала")
    kkt.write_field(19, 1, 1, "ofd.example")
    kkt.write_field(19, 1, 2, 7790)


def test_a_client_registers_a_fresh_device_with_ff05_ff06(fresh: Emulator, kkt: Any) -> None:
    assert kkt.fn_status().lifecycle == FnLifecycle.READY
    assert kkt.registration() is None
    with pytest.raises(DeviceError) as refused:
        kkt.open_shift()
    assert refused.value.code == 0x8F, "an unregistered register refuses to work"

    fill_tables(kkt)
    rnm = rnm_for(kkt)
    kkt.execute(BEGIN_REGISTRATION_REPORT, report_type=REPORT_REGISTRATION)
    answer = kkt.execute(REGISTRATION_REPORT, inn=INN, rnm=rnm, tax_systems=TAX_USN_INCOME,
                         work_mode=0)
    assert answer.document_number == 1

    assert kkt.fn_status().lifecycle == FnLifecycle.FISCAL
    registration = kkt.registration()
    assert registration is not None
    assert (registration.inn, registration.rnm) == (INN, rnm)
    assert registration.tax_systems == TAX_USN_INCOME
    assert registration.fd_number == 1 and registration.fiscal_sign == answer.fiscal_sign
    assert kkt.read_field(18, 1, 2).strip() == INN
    assert kkt.read_field(18, 1, 3).strip() == rnm

    stored = fresh.archive()
    assert kkt.read_document(1) == stored[0]
    doc_type, tags = parse_document(stored[0])
    values = dict(tags)
    assert doc_type == 1
    assert values[1048] == "ИП Петров" and values[1009] == "г. Тула, ул. Ленина, 5"
    assert values[1187] == "Киоск у вокзала" and values[1017] == "7704211201  "  # INNs are 12 wide
    assert values[1062] == TAX_USN_INCOME

    kkt.open_shift()  # and now it works
    assert len(fresh.archive()) == 2


def test_a_client_reregisters_with_ff05_ff34(fresh: Emulator, kkt: Any) -> None:
    fill_tables(kkt)
    kkt.execute(BEGIN_REGISTRATION_REPORT, report_type=REPORT_REGISTRATION)
    kkt.execute(REGISTRATION_REPORT, inn=INN, rnm=rnm_for(kkt), tax_systems=TAX_USN_INCOME,
                work_mode=0)

    kkt.write_field(18, 1, 9, "г. Тула, ул. Советская, 1")
    kkt.execute(BEGIN_REGISTRATION_REPORT, report_type=REPORT_CHANGE)
    answer = kkt.execute(REREGISTRATION_REPORT, inn=INN, rnm=rnm_for(kkt), tax_systems=0b11,
                         work_mode=WORK_MODE_INTERNET, reason=REASON_SETTINGS_CHANGED)
    assert answer.document_number == 2

    registration = kkt.registration()
    assert registration is not None
    assert registration.fd_number == 2 and registration.tax_systems == 0b11
    assert registration.work_mode == WORK_MODE_INTERNET
    stored = fresh.archive()
    assert [kkt.read_document(n) for n in (1, 2)] == stored
    doc_type, tags = parse_document(stored[1])
    values = dict(tags)
    assert doc_type == 11
    assert values[1101] == REASON_SETTINGS_CHANGED and values[1108] == 1
    assert values[1009] == "г. Тула, ул. Советская, 1"


def test_a_wrong_rnm_over_the_wire_changes_nothing(fresh: Emulator, kkt: Any) -> None:
    foreign = rnm_with_check("0000000077", INN, "0000000000000099")
    kkt.execute(BEGIN_REGISTRATION_REPORT, report_type=REPORT_REGISTRATION)
    with pytest.raises(DeviceError) as refused:
        kkt.execute(REGISTRATION_REPORT, inn=INN, rnm=foreign, tax_systems=TAX_USN_INCOME,
                    work_mode=0)
    assert refused.value.code == 0x33
    assert fresh.archive() == []
    assert kkt.fn_status().lifecycle == FnLifecycle.READY

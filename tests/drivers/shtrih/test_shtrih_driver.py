"""ShtrihKkt over a real pseudo-terminal against a scripted register."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import pytest
from shtrih_fakes import Register, Script, fake_port

from kkt_bridge.driverapi import Driver, get_driver
from kkt_bridge.drivers.shtrih.commands.status import BEEP
from kkt_bridge.drivers.shtrih.driver import ShtrihKkt, find_top_tag
from kkt_bridge.drivers.shtrih.errors import NotInModeError, WrongPasswordError
from kkt_bridge.drivers.shtrih.plugin import driver as shtrih_driver
from kkt_bridge.errors import ConfigError, ProtocolError
from kkt_bridge.kkt import Kkt, ShiftState, TaxSystem

FN_NUMBER = "9281000100007442"


def tlv(tag: int, value: bytes) -> bytes:
    return tag.to_bytes(2, "little") + len(value).to_bytes(2, "little") + value


REGISTRATION_DOC = (tlv(1018, b"7701234567  ") + tlv(1209, b"\x02")
                    + tlv(1040, b"\x01\x00\x00\x00"))
RECEIPT_DOC = (tlv(1000, b"\x03") + tlv(1054, b"\x01") + tlv(1020, b"\x20\x4e")
               + tlv(1030, bytes(90)))


class Archive:
    """FF3A / FF3B over a few stored documents, one top-level TLV per FF3B."""

    def __init__(self, documents: dict[int, tuple[int, bytes]]) -> None:
        self.documents = documents
        self.blocks: list[bytes] = []

    def open(self, fields: Any) -> Any:
        found = self.documents.get(fields.fd_number)
        if found is None:
            return 0x08
        kind, body = found
        self.blocks = []
        offset = 0
        while offset < len(body):
            size = 4 + int.from_bytes(body[offset + 2:offset + 4], "little")
            self.blocks.append(body[offset:offset + size])
            offset += size
        return {"document_type": kind, "length": len(body)}

    def next_block(self, fields: Any) -> Any:
        if not self.blocks:
            return 0x08
        return {"data": self.blocks.pop(0)}


def answers(*, registered: bool = True) -> dict[int, Any]:
    archive = Archive({1: (1, REGISTRATION_DOC), 7: (3, RECEIPT_DOC)})
    cashiers = {row: f"Кассир {row}".encode("cp1251").ljust(21, b"\x00")
                for row in range(1, 31)}

    def write_table(fields: Any) -> Any:
        cashiers[fields.row] = bytes(fields.value)
        return {}

    return {
        0xFC: {"type": 0, "subtype": 0, "protocol_version": 1, "protocol_subversion": 14,
               "model": 250, "language": 0, "name": "ШТРИХ-М-01Ф".encode("cp1251")},
        0x10: {"operator": 30, "flags": 0, "mode": 2, "submode": 0, "operations_low": 0,
               "battery_voltage": 0, "power_voltage": 0, "fp_error": 0, "eklz_error": 0,
               "operations_high": 0, "reserved": bytes(3), "print_result": None},
        0x11: {"operator": 1, "firmware_version": b"C1", "firmware_build": 1234,
               "firmware_date": date(2023, 1, 2), "hall_number": 1, "document_number": 5,
               "flags": 0, "mode": 0x12 if registered else 4, "submode": 0, "port": 0,
               "fp_version": b"C1", "fp_build": 1, "fp_date": date(2023, 1, 2),
               "date": date(2024, 5, 20), "time": time(12, 30, 5), "fp_flags": 0,
               "serial": 12345678, "last_closed_shift": 3, "free_records": 100,
               "registrations": 1, "registrations_left": 11, "inn": 7701234567},
        0x13: {"operator": 1},
        0x1F: lambda f: {"value": cashiers[f.row]} if f.table == 2 else 0x5D,
        0x1E: write_table,
        0x2D: {"name": "Кассиры и администраторы", "rows": 30, "fields": 2},
        0x2E: {"name": "Имя", "type": 1, "size": 21, "limits": b""},
        0xE0: 0x73,
        0xFF01: {"lifecycle": 3 if registered else 1, "current_document": 0,
                 "document_data": 0, "shift_open": 1, "warnings": 0,
                 "last_document_at": datetime(2024, 5, 20, 12, 30), "fn_number": FN_NUMBER,
                 "last_fd_number": 7},
        0xFF02: {"fn_number": FN_NUMBER},
        0xFF03: {"valid_until": date(2025, 6, 1), "registrations_left": 11,
                 "registrations_done": 1},
        0xFF09: ({"registered_at": datetime(2024, 5, 1, 9, 0), "inn": "7701234567  ",
                  "rnm": "0000000221017090    ", "tax_systems": 0b11, "work_mode": 0x18,
                  "tail": {"fd_number": 1, "fiscal_sign": 0x3E0BBFF2}}
                 if registered else 0x02),
        0xFF0A: {"document_type": 3, "ofd_acknowledged": 1,
                 "created_at": datetime(2024, 5, 20, 12, 30), "fd_number": 7,
                 "fiscal_sign": 42, "details": {"operation": 1, "total": 20000}},
        0xFF39: {"status": 1, "read_state": 0, "queue_length": 2, "first_unsent_fd": 6,
                 "first_unsent_at": datetime(2024, 5, 20, 12, 0)},
        0xFF3A: archive.open,
        0xFF3B: archive.next_block,
        0xFF40: {"shift_open": 1, "shift_number": 4, "receipt_number": 2},
    }


@pytest.fixture
def register() -> Register:
    return Register(answers())


@pytest.fixture
def kkt(register: Register) -> Any:
    with fake_port(register) as (port, _device):
        yield ShtrihKkt.on_port(port, control_timeout=2.0)


def test_the_plugin_is_a_driver_and_opens_a_kkt() -> None:
    assert isinstance(shtrih_driver, Driver)
    assert get_driver("shtrih") is not None
    assert shtrih_driver.default_tcp_port == 7778
    assert shtrih_driver.probe_speeds == (115200, 57600, 38400, 19200, 9600, 4800)
    assert {str(u) for u in shtrih_driver.usb_ids} == {"1FC9:0083", "ABCD:1980", "04D9:B534"}


def test_kkt_satisfies_the_protocol(kkt: ShtrihKkt) -> None:
    assert isinstance(kkt, Kkt)


def test_identity(kkt: ShtrihKkt) -> None:
    ident = kkt.identity()
    assert ident.model == "ШТРИХ-М-01Ф" and ident.model_code == 250
    assert ident.serial == "12345678" and ident.fn_number == FN_NUMBER
    assert ident.firmware == "C.1.1234"


def test_status(kkt: ShtrihKkt) -> None:
    st = kkt.status()
    assert st.mode == 0x12 and st.shift is ShiftState.OPEN
    assert st.clock == datetime(2024, 5, 20, 12, 30, 5)
    assert st.paper_present and not st.receipt_open


def test_registration_and_fn(kkt: ShtrihKkt) -> None:
    reg = kkt.registration()
    assert reg is not None
    assert (reg.inn, reg.rnm) == ("7701234567", "0000000221017090")
    assert reg.tax_systems == TaxSystem.OSN | TaxSystem.USN_INCOME
    assert reg.ffd_version == "1.05"  # tag 1209 of the registration report
    assert reg.fd_number == 1 and reg.fiscal_sign == 0x3E0BBFF2
    fn = kkt.fn_status()
    assert fn.fn_number == FN_NUMBER and fn.last_fd_number == 7 and fn.fiscal
    assert fn.valid_until == datetime(2025, 6, 1)
    queue = kkt.ofd_queue()
    assert (queue.unsent, queue.first_unsent_fd) == (2, 6)
    shift = kkt.shift()
    assert (shift.open, shift.number, shift.receipt_number) == (True, 4, 2)


def test_not_registered() -> None:
    register = Register(answers(registered=False))
    with fake_port(register) as (port, _device):
        assert ShtrihKkt.on_port(port).registration() is None


def test_not_registered_by_ff09_error_02() -> None:
    table = answers()
    table[0xFF09] = 0x02
    with fake_port(Register(table)) as (port, _device):
        assert ShtrihKkt.on_port(port).registration() is None


def test_blank_ff09_requisites_come_from_table_18(register: Register) -> None:
    blank = dict(answers()[0xFF09])
    blank.update(inn=" " * 12, rnm=" " * 20)
    register.answers[0xFF09] = blank
    table18 = {2: b"7701234567\x00\x00", 3: b"0000000221017090\x00"}

    def read(f: Any) -> Any:
        return {"value": table18[f.field]} if f.table == 18 else 0x5D

    register.answers[0x1F] = read
    register.answers[0x2E] = {"name": "ИНН", "type": 1, "size": 12, "limits": b""}
    with fake_port(register) as (port, _device):
        reg = ShtrihKkt.on_port(port).registration()
    assert reg is not None and (reg.inn, reg.rnm) == ("7701234567", "0000000221017090")


def test_read_document_returns_the_fn_bytes(kkt: ShtrihKkt) -> None:
    doc = kkt.read_document(7)
    assert doc == (3).to_bytes(2, "little") + len(RECEIPT_DOC).to_bytes(2, "little") + RECEIPT_DOC
    assert find_top_tag(doc[4:], 1020) == b"\x20\x4e"
    assert [n for n, _ in kkt.iter_documents(7, 7)] == [7]
    info = kkt.document_info(7)
    assert info.document_type == 3 and info.ofd_acknowledged
    assert info.details == {"operation": 1, "total": 20000}


def test_the_read_stops_at_the_length_ff3a_announced(kkt: ShtrihKkt,
                                                     register: Register) -> None:
    """One FF3B per top-level TLV and not one more: the end of the data is the length, as
    the vendor's driver reads it, not an extra round trip for error 08."""
    kkt.read_document(7)
    codes = [code for code, _fields in register.requests]
    assert codes.count(0xFF3A) == 1
    assert codes.count(0xFF3B) == 4  # RECEIPT_DOC holds four top-level TLVs


def test_a_missing_document_raises_typed_error(kkt: ShtrihKkt) -> None:
    from kkt_bridge.drivers.shtrih.errors import FnNoDataError

    with pytest.raises(FnNoDataError):
        kkt.read_document(99)


def test_short_document_is_a_protocol_error(register: Register) -> None:
    archive = Archive({5: (3, RECEIPT_DOC)})
    register.answers[0xFF3A] = lambda f: {**archive.open(f), "length": len(RECEIPT_DOC) + 3}
    register.answers[0xFF3B] = archive.next_block
    with fake_port(register) as (port, _device), pytest.raises(ProtocolError):
        ShtrihKkt.on_port(port).read_document(5)


def test_cashiers_read_and_write(kkt: ShtrihKkt, register: Register) -> None:
    cashiers = kkt.read_cashiers()
    assert len(cashiers) == 30 and cashiers[0].name == "Кассир 1"
    kkt.write_cashier(3, "Иванова")
    assert kkt.read_cashiers()[2].name == "Иванова"
    writes = [f for code, f in register.requests if code == 0x1E]
    assert writes[0].password == 30 and writes[0].table == 2 and writes[0].field == 2
    assert bytes(writes[0].value) == "Иванова".encode("cp1251").ljust(21, b"\x00")
    with pytest.raises(ConfigError):
        kkt.write_cashier(31, "x")
    with pytest.raises(ConfigError):
        kkt.write_cashier(1, "Очень длинное имя кассира")
    with pytest.raises(ConfigError):
        kkt.write_cashier(1, "日本")
    assert len([code for code, _ in register.requests if code == 0x1E]) == 1  # nothing else


def test_passwords_by_command(kkt: ShtrihKkt, register: Register) -> None:
    kkt.beep()
    kkt.shift()
    kkt.short_status()
    by_code = {code: f.password for code, f in register.requests}
    assert by_code == {0x13: 1, 0xFF40: 30, 0x10: 1}
    assert kkt.execute(BEEP, password=5).operator == 1
    assert register.requests[-1][1].password == 5


def test_device_errors_surface_typed(kkt: ShtrihKkt, register: Register) -> None:
    with pytest.raises(NotInModeError):
        kkt.open_shift()
    register.answers[0x13] = 0x4F
    with pytest.raises(WrongPasswordError):
        kkt.beep()


def test_bad_field_values_are_config_errors(kkt: ShtrihKkt) -> None:
    with pytest.raises(ConfigError):
        kkt.document_info(-1)


def test_works_through_stray_bytes_and_corruption(register: Register) -> None:
    script = Script(stray=True, corrupt_answers=2, nak_frames=1)
    with fake_port(register, script) as (port, _device):
        assert ShtrihKkt.on_port(port).identity().serial == "12345678"


@pytest.mark.parametrize("remembered", [None, "atol"])
def test_probe_finds_the_register_and_open_register_opens_it(register: Register,
                                                             remembered: str | None) -> None:
    """Also when another register answered at the same path before (a stale hint is only
    an order: the Shtrih-M register still answers after the ATOL probe)."""
    from kkt_bridge.registers import open_register, remember_driver

    with fake_port(register) as (port, _device):
        url = port.port
        port.close()  # the probe opens the node itself
        if remembered:
            remember_driver(url, remembered)
        found = shtrih_driver.probe(url, 115200, 2.0)
        assert found is not None
        assert (found.model, found.serial, found.driver) == ("ШТРИХ-М-01Ф", "12345678", "shtrih")
        kkt = open_register(url, baudrate=115200, control_timeout=2.0)
        try:
            assert kkt.shift().number == 4
        finally:
            kkt.close()


def test_probe_of_a_silent_port_is_none(register: Register) -> None:
    with fake_port(register, Script(silent=True)) as (port, _device):
        url = port.port
        port.close()
        assert shtrih_driver.probe(url, 9600, 0.05) is None


def test_discovery_finds_the_speed_by_enq_from_115200_down(register: Register) -> None:
    from kkt_bridge.link import probe

    script = Script(line_speed=19200)
    with fake_port(register, script) as (port, _device):
        url = port.port
        port.close()  # the probe opens the node itself, at each speed in turn
        found = probe(url, {"shtrih": shtrih_driver}, timeout=0.05)
    assert found is not None
    assert (found.baudrate, found.model, found.serial) == (19200, "ШТРИХ-М-01Ф", "12345678")
    # the faster speeds were tried first and heard nothing; the first ENQ at 19200 answered
    tried = list(dict.fromkeys(script.enq_speeds))
    assert tried == [115200, 57600, 38400, 19200]


def test_discovery_of_a_register_at_4800_tries_every_speed(register: Register) -> None:
    from kkt_bridge.link import probe

    script = Script(line_speed=4800)
    with fake_port(register, script) as (port, _device):
        url = port.port
        port.close()
        found = probe(url, {"shtrih": shtrih_driver}, timeout=0.05)
    assert found is not None and found.baudrate == 4800
    assert list(dict.fromkeys(script.enq_speeds)) == list(shtrih_driver.probe_speeds)

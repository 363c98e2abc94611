"""Identity and status: 0xFC, 0x10, 0x11, 0x13."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from kkt_bridge.drivers.shtrih.commands import Command
from kkt_bridge.drivers.shtrih.commands.status import BEEP, DEVICE_TYPE, FULL_STATUS, SHORT_STATUS

from .core import DeviceCore
from .dispatch import handles

#: status flags: bit 1 receipt paper present, bit 7 two decimals in money (always set)
FLAG_PAPER = 0x0002
FLAG_BASE = 0x0280
BATTERY = 0x9F  # a healthy battery, as real answers show it
POWER = 0xE5
NO_INN = 0xFFFF_FFFF_FFFF  # an unregistered device reports the INN as all ones
FREE_FP_RECORDS = 2000


@dataclass(frozen=True)
class Firmware:
    """What a ШТРИХ-М-01Ф of the traces says about its make (0xFC, 0x11)."""

    device_type: int = 0
    subtype: int = 0
    protocol_version: int = 1
    protocol_subversion: int = 14
    version: bytes = b"C1"
    build: int = 36186
    released: date = date(2024, 3, 19)
    fp_version: bytes = b"C1"
    fp_build: int = 36186
    fp_date: date = date(2024, 3, 19)


FIRMWARE = Firmware()


def status_flags(core: DeviceCore) -> int:
    return FLAG_BASE | (0 if core.faults.paper_out else FLAG_PAPER)


@handles(DEVICE_TYPE)
def device_type(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    ident = core.state.identity
    return cmd.build_answer(
        type=FIRMWARE.device_type, subtype=FIRMWARE.subtype,
        protocol_version=FIRMWARE.protocol_version,
        protocol_subversion=FIRMWARE.protocol_subversion, model=ident.model_code, language=0,
        name=ident.model.encode("cp1251"),
    )


@handles(SHORT_STATUS)
def short_status(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    operations = len(core.receipt.lines) if core.receipt else 0
    return cmd.build_answer(
        operator=operator, flags=status_flags(core), mode=core.mode(),
        submode=core.submode(), operations_low=operations & 0xFF, battery_voltage=BATTERY,
        power_voltage=POWER, fp_error=0, eklz_error=0,
        operations_high=(operations >> 8) & 0xFF, reserved=b"\x00\x00\x00", print_result=None,
    )


@handles(FULL_STATUS)
def full_status(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    operator = core.operator(request.password)
    state = core.state
    ident = state.identity
    shift = state.shift
    now = core.now()
    registrations = len(state.registrations)
    inn = core.tables.get_str(18, 1, 2).strip()
    return cmd.build_answer(
        operator=operator,
        firmware_version=FIRMWARE.version, firmware_build=FIRMWARE.build,
        firmware_date=FIRMWARE.released,
        hall_number=core.tables.get_int(1, 1, 1),
        document_number=state.through_number,
        flags=status_flags(core), mode=core.mode(), submode=core.submode(), port=0,
        fp_version=FIRMWARE.fp_version, fp_build=FIRMWARE.fp_build, fp_date=FIRMWARE.fp_date,
        date=now.date(), time=now.time(),
        fp_flags=0x02 if state.registered else 0x00,
        serial=int(ident.serial) & 0xFFFF_FFFF if ident.serial.isdigit() else 0,
        last_closed_shift=shift.number - 1 if shift.is_open else shift.number,
        free_records=FREE_FP_RECORDS,
        registrations=registrations,
        registrations_left=max(state.fn.registrations_max - registrations, 0),
        inn=int(inn) if state.registered and inn.isdigit() else NO_INN,
    )


@handles(BEEP)
def beep(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    return cmd.build_answer(operator=core.operator(request.password))

"""Identity and status: 0xFC device type, 0x10 short status, 0x11 full status, 0x13 beep."""

from __future__ import annotations

from construct import Bytes, BytesInteger, GreedyBytes, Int8ul, Int16ul, Int32ul, Optional, Struct

from .base import command
from .fields import DeviceDate, DeviceTime, Password

DEVICE_TYPE = command(
    0xFC, "device_type", "Получить тип устройства",
    request=Struct(),  # the one command without a password
    answer=Struct(
        "type" / Int8ul,
        "subtype" / Int8ul,
        "protocol_version" / Int8ul,
        "protocol_subversion" / Int8ul,
        "model" / Int8ul,
        "language" / Int8ul,
        "name" / GreedyBytes,  # cp1251, to the end of the answer
    ),
    timeout=3.0,
    query=True,
)

SHORT_STATUS = command(
    0x10, "short_status", "Короткий запрос состояния",
    request=Struct("password" / Password),
    answer=Struct(
        "operator" / Int8ul,
        "flags" / Int16ul,
        "mode" / Int8ul,
        "submode" / Int8ul,
        "operations_low" / Int8ul,
        "battery_voltage" / Int8ul,
        "power_voltage" / Int8ul,
        "fp_error" / Int8ul,
        "eklz_error" / Int8ul,
        "operations_high" / Int8ul,
        "reserved" / Bytes(3),
        # newer firmware appends the result of the last print; older answers end here
        "print_result" / Optional(Int8ul),
    ),
    timeout=3.0,
    query=True,
)

FULL_STATUS = command(
    0x11, "full_status", "Запрос состояния",
    request=Struct("password" / Password),
    answer=Struct(
        "operator" / Int8ul,
        # two characters such as b"C1"; raw bytes, since some firmware puts non-letters here
        "firmware_version" / Bytes(2),
        "firmware_build" / Int16ul,
        "firmware_date" / DeviceDate,
        "hall_number" / Int8ul,
        "document_number" / Int16ul,
        "flags" / Int16ul,
        "mode" / Int8ul,
        "submode" / Int8ul,
        "port" / Int8ul,  # 128 = TCP
        "fp_version" / Bytes(2),
        "fp_build" / Int16ul,
        "fp_date" / DeviceDate,
        "date" / DeviceDate,
        "time" / DeviceTime,
        "fp_flags" / Int8ul,
        "serial" / Int32ul,
        "last_closed_shift" / Int16ul,
        "free_records" / Int16ul,
        "registrations" / Int8ul,
        "registrations_left" / Int8ul,
        "inn" / BytesInteger(6, swapped=True),
    ),
    timeout=3.0,
    query=True,
)

BEEP = command(
    0x13, "beep", "Гудок",
    request=Struct("password" / Password),
    answer=Struct("operator" / Int8ul),
)

"""Identity and status: 0xFC device type, 0x10 short status, 0x11 full status."""

from __future__ import annotations

from construct import GreedyBytes, Int8ul, Int16ul, Struct

from .base import command
from .fields import Password

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
        "reserved" / GreedyBytes,  # 3 reserved bytes, then an optional print result byte
    ),
    timeout=3.0,
)

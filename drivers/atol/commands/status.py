"""Identity and state: A5, 3F, 45, registers (91), modes (56, 48). atol.md §3.1, §4.1."""

from __future__ import annotations

from construct import Bytes, GreedyBytes, Int8ub, Int16ub, Struct

from .base import AnswerKind, command
from .fields import Bcd, BcdDate, BcdTime, External

DEVICE_TYPE = command(
    b"\xa5", "device_type", "тип устройства",
    answer=Struct(
        "protocol" / Int8ub,
        "device_type" / Int8ub,
        "model" / Int8ub,
        "mode" / Int16ub,  # [?] byte order of the 2-byte mode: big-endian chosen
        "version" / Bytes(5),
        "name" / External(),
    ),
    kind=AnswerKind.ERROR_FIRST, timeout=3.0)

#: [?] the first byte of a 3F answer is checked by no source (atol.md §9 question 3). 0x44
#: ("D") is the state answer's byte in the classic ATOL protocol; the driver takes any byte
#: other than 55 as the own byte, so a capture can only make the emulator more exact.
STATE_BYTE = 0x44
#: [?] byte order of the BCD receipt and shift numbers: atol4j reads them big-endian, the Ruby
#: wrapper over the vendor's own driver reverses them. The wrapper parses what real devices
#: sent through the vendor driver in production, so little-endian is chosen (§9 question 3).
STATE_NUMBERS_LITTLE = True

STATE = command(
    b"\x3f", "state", "запрос состояния",
    answer=Struct(
        "cashier" / Bcd(1),
        "hall_number" / Int8ub,
        "date" / BcdDate,
        "time" / BcdTime,
        "flags" / Int8ub,
        "serial" / Bcd(4),
        "model" / Int8ub,
        "firmware" / Bytes(2),
        "mode" / Int8ub,  # low nibble mode, high nibble sub-mode
        "receipt_number" / Bcd(2, little=STATE_NUMBERS_LITTLE),
        "shift_number" / Bcd(2, little=STATE_NUMBERS_LITTLE),
        "receipt_state" / Int8ub,
        "receipt_total" / Bcd(5),
        "decimal_point" / Int8ub,
        "port" / Int8ub,
    ),
    kind=AnswerKind.OWN, own=STATE_BYTE, timeout=3.0)

#: 3F flags byte [C2]
FLAG_FISCAL = 0x01
FLAG_SHIFT_OPEN = 0x02
FLAG_DRAWER_OPEN = 0x04
FLAG_PAPER = 0x08
FLAG_COVER_OPEN = 0x20
FLAG_FN_ACTIVE = 0x40
FLAG_BATTERY_LOW = 0x80

SHORT_STATE = command(
    b"\x45", "short_state", "код состояния",
    answer=Struct("mode" / Int8ub, "flags" / Int8ub),
    kind=AnswerKind.OWN, own=0x55, timeout=3.0)

READ_REGISTER = command(
    b"\x91", "read_register", "считать регистр",
    request=Struct("register" / Int8ub, "param1" / Int8ub, "param2" / Int8ub),
    # [?] the binary layouts of register values are in no source (§9 question 4): raw bytes
    answer=Struct("value" / GreedyBytes),
    kind=AnswerKind.DATA)

ENTER_MODE = command(
    b"\x56", "enter_mode", "вход в режим",
    request=Struct("mode" / Int8ub, "mode_password" / Bcd(4)))

LEAVE_MODE = command(b"\x48", "leave_mode", "выход из режима")

BEEP = command(b"\x47", "beep", "гудок")

#: modes of 56 [C2]
MODE_SELECT = 0
MODE_REGISTRATION = 1
MODE_X_REPORTS = 2
MODE_Z_REPORTS = 3
MODE_PROGRAMMING = 4
MODE_FP_ACCESS = 5
MODE_EJ_ACCESS = 6

#: receipt states of 3F byte 22 [C]
RECEIPT_CLOSED = 0
RECEIPT_SALE = 1
RECEIPT_SALE_RETURN = 2
RECEIPT_PURCHASE = 4
RECEIPT_PURCHASE_RETURN = 5

#: [?] default mode passwords: only the 29 (administrator) of atol4j's device test is seen
ADMIN_PASSWORD = 29
SYSADMIN_PASSWORD = 30
CASHIER_PASSWORD = 1

"""Settings tables: 0x1E write, 0x1F read, 0x2D table structure, 0x2E field structure.

Table 2 holds the cashiers (rows 1..30: field 1 password, field 2 name), table 18 the
fiscal storage settings (INN, RNM, tax systems, work mode). A value travels as raw bytes:
its meaning (BIN little-endian or CHAR cp1251) is known only from the field structure.
"""

from __future__ import annotations

from construct import BytesInteger, GreedyBytes, Int8ul, Int16ul, Struct, Switch, this

from .base import command
from .fields import Password, cp1251

FIELD_BIN = 0
FIELD_CHAR = 1

_CELL = Struct(
    "password" / Password,  # sysadmin
    "table" / Int8ul,
    "row" / Int16ul,
    "field" / Int8ul,
)

WRITE_TABLE = command(
    0x1E, "write_table", "Запись таблицы",
    request=Struct(*_CELL.subcons, "value" / GreedyBytes),
)

READ_TABLE = command(
    0x1F, "read_table", "Чтение таблицы",
    request=_CELL,
    answer=Struct("value" / GreedyBytes),
    query=True,
)

TABLE_STRUCTURE = command(
    0x2D, "table_structure", "Запрос структуры таблицы",
    request=Struct("password" / Password, "table" / Int8ul),
    answer=Struct(
        "name" / cp1251(40),
        "rows" / Int16ul,
        "fields" / Int8ul,
    ),
    query=True,
)

FIELD_STRUCTURE = command(
    0x2E, "field_structure", "Запрос структуры поля",
    request=Struct("password" / Password, "table" / Int8ul, "field" / Int8ul),
    answer=Struct(
        "name" / cp1251(40),
        "type" / Int8ul,  # FIELD_BIN or FIELD_CHAR
        "size" / Int8ul,
        # Only a number has limits: min and max of `size` bytes each. A CHAR field of
        # 128 bytes could not fit them in a frame, and devices send nothing (or junk) there.
        "limits" / Switch((this.type == FIELD_BIN) & (this.size > 0), {
            True: Struct(
                "min" / BytesInteger(this._.size, swapped=True),
                "max" / BytesInteger(this._.size, swapped=True),
            ),
        }, default=GreedyBytes),
    ),
    query=True,
)

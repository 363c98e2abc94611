"""Settings tables: 0x1E write, 0x1F read, 0x2D table structure, 0x2E field structure.

Only the system administrator (table 2 row 30) may touch the tables, as on a real device.
"""

from __future__ import annotations

from typing import Any

from kkt_bridge.drivers.shtrih.commands import Command
from kkt_bridge.drivers.shtrih.commands.tables import (
    FIELD_STRUCTURE,
    READ_TABLE,
    TABLE_STRUCTURE,
    WRITE_TABLE,
)

from .core import SYSADMIN_ONLY, DeviceCore
from .dispatch import handles
from .refusal import BAD_PARAMETERS, refuse
from .tables import FIELD_BIN, table_def


@handles(WRITE_TABLE)
def write_table(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    core.need_no_receipt()
    core.tables.write_raw(request.table, request.row, request.field, bytes(request.value))
    core.persist()
    return cmd.build_answer()


@handles(READ_TABLE)
def read_table(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    return cmd.build_answer(
        value=core.tables.read_raw(request.table, request.row, request.field))


@handles(TABLE_STRUCTURE)
def table_structure(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    table = table_def(request.table)
    return cmd.build_answer(name=table.name[:40], rows=table.rows, fields=len(table.fields))


@handles(FIELD_STRUCTURE)
def field_structure(core: DeviceCore, cmd: Command, request: Any) -> bytes:
    core.operator(request.password, SYSADMIN_ONLY)
    table = table_def(request.table)
    spec = table.field(request.field)
    if spec is None:
        refuse(BAD_PARAMETERS)
    limits: Any = ({"min": spec.minimum, "max": spec.maximum} if spec.type == FIELD_BIN
                   else b"")
    return cmd.build_answer(name=spec.name[:40], type=spec.type, size=spec.size, limits=limits)

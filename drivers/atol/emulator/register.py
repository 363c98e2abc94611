"""The ATOL register over the kit's virtual register: its modes, passwords and the RAM a
document read or a receipt's payments need. Everything fiscal is the kit's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kkt_bridge.emulation.archive import StoredDocument
from kkt_bridge.emulation.register import RegisterModel, VirtualRegister

#: a 5-byte BCD sum: ten digits of kopecks
BCD5_LIMIT = 10**10 - 1

#: [?] the emulator's mode passwords (atol.md §3.1: only atol4j's 29 is seen). Cashiers
#: 1..28 enter modes 1 and 2 with their number; 29 (administrator) and 30 (system
#: administrator) enter every mode.
ADMIN = 29
SYSADMIN = 30
CASHIER_MODES = frozenset({1, 2})


@dataclass
class AtolRam:
    """What a power loss forgets."""

    mode: int = 0
    submode: int = 0
    operator: int = 0  # the cashier whose password entered the mode
    #: A4 45 chose a document; A4 46 walks its top-level TLVs: (document, offset)
    read_cursor: tuple[StoredDocument, int] | None = None
    #: payments made with 99 in the open receipt: payment type -> kopecks
    payments: dict[int, int] = field(default_factory=dict)


class AtolRegister(VirtualRegister):
    model = RegisterModel(protocol="atol", name="АТОЛ 30Ф", code=61, firmware="3.0.4660",
                          money_limit=BCD5_LIMIT)

    def __init__(self, **options: Any) -> None:
        self.ram = AtolRam()
        super().__init__(**options)

    def restart(self) -> None:
        super().restart()
        self.ram = AtolRam()


def may_enter(mode: int, password: int) -> int | None:
    """The operator a mode password stands for, None when it is wrong."""
    if password in (ADMIN, SYSADMIN):
        return password
    if mode in CASHIER_MODES and 1 <= password <= 28:
        return password
    return None

"""How a Shtrih-M command is declared, and the registry of all of them.

A :class:`Command` pairs a code with two construct declarations: ``request`` (the bytes
after CMD, password included when the command takes one) and ``answer`` (the bytes after
the error byte of a successful answer). The driver builds ``request`` and parses
``answer``; the emulator parses ``request`` and builds ``answer``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from construct import Construct, Struct

#: Answer timeouts of the vendor's own driver: 0x10/0x11 3 s, reports 65 s, open shift 120 s.
DEFAULT_TIMEOUT = 30.0

EMPTY = Struct()


@dataclass(frozen=True)
class Command:
    code: int  # 0x10, or 0xFF01 for the two-byte ФН commands
    name: str  # snake_case, used as the driver method and emulator handler name
    title: str  # Russian name from the protocol document
    request: Construct
    answer: Construct
    timeout: float = DEFAULT_TIMEOUT

    @property
    def code_bytes(self) -> bytes:
        return self.code.to_bytes(2 if self.code > 0xFF else 1, "big")

    def build_request(self, **fields: Any) -> bytes:
        """The request body: CMD + request data."""
        return self.code_bytes + bytes(self.request.build(fields))

    def build_answer(self, **fields: Any) -> bytes:
        """The body of a successful answer: CMD + 00 + answer data."""
        return self.code_bytes + b"\x00" + bytes(self.answer.build(fields))

    def error_answer(self, error: int) -> bytes:
        """An error answer carries only the echo and the error code."""
        return self.code_bytes + bytes([error])

    def __str__(self) -> str:
        return f"0x{self.code:02X} {self.title}"


REGISTRY: dict[int, Command] = {}


def command(code: int, name: str, title: str, request: Construct = EMPTY,
            answer: Construct = EMPTY, timeout: float = DEFAULT_TIMEOUT) -> Command:
    """Declare a command and add it to the registry (each code once)."""
    if code in REGISTRY:
        raise ValueError(f"command 0x{code:X} declared twice")
    cmd = Command(code, name, title, request, answer, timeout)
    REGISTRY[code] = cmd
    return cmd

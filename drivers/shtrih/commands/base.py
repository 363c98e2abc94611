"""How a Shtrih-M command is declared, and the registry of all of them.

A :class:`Command` pairs a code with two construct declarations: ``request`` (the bytes
after CMD, password included when the command takes one) and ``answer`` (the bytes after
the error byte of a successful answer). The driver builds ``request`` and parses
``answer``; the emulator parses ``request`` and builds ``answer``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

from construct import Construct, ConstructError, Container, Struct

from kkt_bridge.errors import ProtocolError
from kkt_bridge.i18n import _

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
    #: a read-only query: it changes nothing in the register (nor its fiscal state), so
    #: running it twice is harmless and the transport may send it without ENQ first
    #: after a clean exchange (see :mod:`..transport`)
    query: bool = False

    @property
    def code_bytes(self) -> bytes:
        return self.code.to_bytes(2 if self.code > 0xFF else 1, "big")

    def build_request(self, **fields: Any) -> bytes:
        """The request body: CMD + request data."""
        return self.code_bytes + bytes(self.request.build(fields))

    def build_answer(self, **fields: Any) -> bytes:
        """The body of a successful answer: CMD + 00 + answer data."""
        return self.code_bytes + b"\x00" + bytes(self.answer.build(fields))

    def parse_request(self, body: bytes) -> Container:
        """Fields of a request body (CMD + data): the emulator's side of :meth:`build_request`."""
        code = self.code_bytes
        if body[:len(code)] != code:
            raise ProtocolError(_("кадр команды {got} разобран как {command}").format(
                got=body[:len(code)].hex(" ").upper(), command=self))
        return self._parse(self.request, body[len(code):])

    def parse_answer(self, body: bytes) -> Container:
        """Fields of an answer body (CMD + error + data), the driver's side of :meth:`build_answer`.

        A non-zero error code raises the typed :class:`~kkt_bridge.errors.DeviceError` of
        that code; an echo of another command or a malformed tail raises ProtocolError.
        """
        code = self.code_bytes
        n = len(code)
        if body[:n] != code or len(body) <= n:
            raise ProtocolError(
                _("на команду {command} пришёл ответ {got}").format(
                    command=self, got=body[:n + 1].hex(" ").upper()),
                _("повторите команду; если ошибка повторяется, переподключите ККТ"))
        if body[n]:
            from ..errors import raise_for  # late: errors looks titles up in this registry

            raise_for(self.code, body[n])
        return self._parse(self.answer, body[n + 1:])

    def _parse(self, declaration: Construct, data: bytes) -> Container:
        parser = _compiled(declaration)
        try:
            parsed: Container = parser.parse(data)
        except (ConstructError, ValueError, struct.error, IndexError, OverflowError) as exc:
            # ValueError: impossible dates, non-ASCII in ФН strings; struct.error and
            # IndexError: the compiled parser's way of saying "too short"
            raise ProtocolError(
                _("ответ на команду {command} не разобран: {reason}").format(
                    command=self, reason=f"{exc.__class__.__name__}: {exc}"),
                _("проверьте, что ККТ поддерживает эту команду")) from exc
        return parsed

    def error_answer(self, error: int) -> bytes:
        """An error answer carries only the echo and the error code."""
        return self.code_bytes + bytes([error])

    def __str__(self) -> str:
        # the title is a msgid: error messages name the command in the UI language
        return f"0x{self.code:02X} {_(self.title)}"


REGISTRY: dict[int, Command] = {}

_COMPILED: dict[int, Construct] = {}


def _compiled(declaration: Construct) -> Construct:
    """The compiled twin of a declaration, for parsing on the hot path (2-3x faster).

    The declaration stays the spec, and building stays on it, so build errors stay
    construct's own. The twin is made lazily; a declaration construct cannot compile is
    its own twin.
    """
    key = id(declaration)
    found = _COMPILED.get(key)
    if found is None:
        try:
            found = declaration.compile()
        except Exception:  # construct raises assorted errors for uncompilable pieces
            found = declaration
        _COMPILED[key] = found
    return found


def command(code: int, name: str, title: str, request: Construct = EMPTY,
            answer: Construct = EMPTY, timeout: float = DEFAULT_TIMEOUT, *,
            query: bool = False) -> Command:
    """Declare a command and add it to the registry (each code once)."""
    if code in REGISTRY:
        raise ValueError(f"command 0x{code:X} declared twice")
    cmd = Command(code, name, title, request, answer, timeout, query)
    REGISTRY[code] = cmd
    return cmd

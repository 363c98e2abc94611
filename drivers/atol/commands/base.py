"""How an ATOL command is declared, and the registry of all of them.

A task is ``access password (2 BCD bytes) | code (1 byte, or 2 for A4 xx) | request``. The
answer's frame depends on the command (atol.md §3), so each declaration names its
:class:`AnswerKind`. The driver builds tasks and parses answers; the emulator parses tasks
and builds answers, with the same declarations.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass
from typing import Any

from construct import Construct, ConstructError, Container, GreedyBytes, Int8ub, Struct

from kkt_bridge.errors import ProtocolError
from kkt_bridge.i18n import _

from .fields import Bcd

#: the v2 manual's default T5; long commands declare their own (atol.md §2.3)
DEFAULT_TIMEOUT = 10.0
#: 2-byte access password; atol4j and its device test use 00 00 [C]
ACCESS_PASSWORD = 0
GENERIC = 0x55

EMPTY = Struct()
_FIXED_TASKS: dict[tuple[bytes, int], bytes] = {}

TaskHead = Struct("password" / Bcd(2), "code" / Int8ub)
"""The start of every task: password, then the command byte."""


class AnswerKind(enum.Enum):
    #: ``55 err ext`` and, on success, the data (atol.md §3 generic answer)
    GENERIC = "55 err ext data"
    #: ``55 err`` and the data right after the code (A4 xx, 91)
    DATA = "55 err data"
    #: the first byte is the command's own (3F, 4D); an error comes as ``55 err ext``
    OWN = "own byte, data"
    #: the error code first, then the data (A5)
    ERROR_FIRST = "err data"


#: the answer declarations :meth:`Command.answer_data` found to be all data, by id
_ALL_DATA: dict[int, Construct] = {}


@dataclass(frozen=True)
class Command:
    code: bytes  # b"\x3f", or b"\xa4\x30" for a ФН request
    name: str
    title: str  # Russian, a msgid
    request: Construct = EMPTY
    answer: Construct = EMPTY
    kind: AnswerKind = AnswerKind.GENERIC
    #: the first byte of an OWN answer
    own: int = GENERIC
    timeout: float = DEFAULT_TIMEOUT

    @property
    def label(self) -> str:
        return self.code.hex(" ").upper()

    # --- the driver's side ----------------------------------------------------------------

    def build_task(self, password: int = ACCESS_PASSWORD, **fields: Any) -> bytes:
        if not fields and self.request is EMPTY:
            # the same bytes every time (A4 46 is sent once a TLV): built once, kept
            key = (self.code, password)
            task = _FIXED_TASKS.get(key)
            if task is None:
                task = _FIXED_TASKS[key] = bytes(Bcd(2).build(password)) + self.code
            return task
        return bytes(Bcd(2).build(password)) + self.code + bytes(self.request.build(fields))

    def parse_answer(self, answer: bytes) -> Container:
        """Fields of a successful answer; the typed DeviceError of a refusal."""
        data = self._strip(answer)
        return self._parse(self.answer, data)

    def answer_data(self, answer: bytes) -> bytes:
        """The data of a successful answer as it stands, for a command whose answer is
        declared as all its data (``"data" / GreedyBytes``): the same bytes
        :meth:`parse_answer` gives as ``.data``, without construct on the hot path of a
        document read; the typed DeviceError of a refusal."""
        declared = self.answer
        if _ALL_DATA.get(id(declared)) is not declared:  # once a declaration, not a block
            subcons: list[Any] = list(getattr(declared, "subcons", ()))
            if not (len(subcons) == 1 and subcons[0].name == "data"
                    and subcons[0].subcon is GreedyBytes):
                raise TypeError(f"{self.label}: its answer is not declared as all data")
            _ALL_DATA[id(declared)] = declared  # kept alive: its id stays its own
        return bytes(self._strip(answer))

    def _strip(self, answer: bytes) -> bytes:
        kind = self.kind
        if kind is AnswerKind.ERROR_FIRST:
            if not answer:
                raise self._short(answer)
            if answer[0]:
                self._raise(answer[0], 0)
            return answer[1:]
        if kind is AnswerKind.OWN and answer[:1] == bytes([self.own]):
            return answer[1:]  # an own byte of 55 (the 45 answer) never carries an error
        if len(answer) < 2 or answer[0] != GENERIC:
            raise self._short(answer)
        if answer[1]:
            self._raise(answer[1], answer[2] if len(answer) > 2 else 0)
        if kind is AnswerKind.DATA:
            return answer[2:]
        if kind is AnswerKind.OWN:  # an error answer of a command that answers with its own
            raise self._short(answer)
        return answer[3:]

    def _raise(self, code: int, extended: int) -> None:
        from ..errors import error_for  # late: errors name commands through this module

        raise error_for(self.label, code, extended)

    def _short(self, answer: bytes) -> ProtocolError:
        return ProtocolError(
            _("на команду {command} пришёл ответ {got}").format(
                command=self.label, got=answer[:4].hex(" ").upper() or "—"),
            _("повторите команду; если ошибка повторяется, переподключите ККТ"))

    def _parse(self, declaration: Construct, data: bytes) -> Container:
        try:
            parsed: Container = declaration.parse(data)
        except (ConstructError, ValueError, struct.error, IndexError, OverflowError,
                UnicodeDecodeError) as exc:
            raise ProtocolError(
                _("ответ на команду {command} не разобран: {reason}").format(
                    command=self.label, reason=f"{exc.__class__.__name__}: {exc}"),
                _("проверьте, что ККТ поддерживает эту команду")) from exc
        return parsed

    # --- the emulator's side --------------------------------------------------------------

    def parse_task(self, task: bytes) -> Container:
        """The request fields of a task (password first); ProtocolError when malformed."""
        head = len(self.code) + 2
        if task[2:head] != self.code:
            raise ProtocolError(_("задание {got} разобрано как {command}").format(
                got=task[2:head].hex(" ").upper(), command=self.label))
        fields = self._parse(self.request, task[head:])
        fields.password = self._parse(Bcd(2), task[:2])
        return fields

    def build_answer(self, **fields: Any) -> bytes:
        data = bytes(self.answer.build(fields))
        kind = self.kind
        if kind is AnswerKind.ERROR_FIRST:
            return b"\x00" + data
        if kind is AnswerKind.OWN:
            return bytes([self.own]) + data
        if kind is AnswerKind.DATA:
            return bytes([GENERIC, 0]) + data
        return bytes([GENERIC, 0, 0]) + data

    def error_answer(self, code: int, extended: int = 0) -> bytes:
        if self.kind is AnswerKind.ERROR_FIRST:
            return bytes([code])
        if self.kind is AnswerKind.DATA:
            return bytes([GENERIC, code])
        return bytes([GENERIC, code, extended])

    def __str__(self) -> str:
        return f"{self.label} {_(self.title)}"


REGISTRY: dict[bytes, Command] = {}


def command(code: bytes, name: str, title: str, request: Construct = EMPTY,
            answer: Construct = EMPTY, kind: AnswerKind = AnswerKind.GENERIC, own: int = GENERIC,
            timeout: float = DEFAULT_TIMEOUT) -> Command:
    declared = Command(code, name, title, request, answer, kind, own, timeout)
    if code in REGISTRY:
        raise RuntimeError(f"command {declared.label} declared twice")
    REGISTRY[code] = declared
    return declared


def lookup(task: bytes) -> Command | None:
    """The declaration a task (password + code + data) is for: two-byte codes first."""
    return REGISTRY.get(task[2:4]) or REGISTRY.get(task[2:3])



__all__ = ["ACCESS_PASSWORD", "DEFAULT_TIMEOUT", "EMPTY", "GENERIC", "REGISTRY", "AnswerKind",
           "Command", "TaskHead", "command", "lookup"]

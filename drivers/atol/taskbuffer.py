"""The task buffer (буфер заданий) of transport v3, declared once for both directions.

Every host packet starts with a buffer command (ADD, ACK, REQ, ABORT, ACK_ADD); every
register packet starts with a status byte, and an asynchronous result (packet id 0xF0)
names its task. Reference atol.md §2.2.
"""

from __future__ import annotations

import enum

from construct import (
    Byte,
    Construct,
    ConstructError,
    Container,
    Enum,
    GreedyBytes,
    If,
    Int8ub,
    Struct,
    Switch,
    this,
)

from kkt_bridge.errors import ProtocolError
from kkt_bridge.i18n import _


class BufferCommand(enum.IntEnum):
    ADD = 0xC1  # [C]
    ACK = 0xC2  # [C] frees a finished task's result
    REQ = 0xC3  # [C] code; "C3 tid" layout [I] by symmetry with ACK
    ABORT = 0xC4  # [C] drops every task
    # [?] atol4j names it but never sends it; layout chosen here: the tid to acknowledge,
    # then an ADD's flags, tid and task. The driver sends it only when told to
    # (``ack_add=True``: 6 bytes less a task than ACK and ADD in two packets); the
    # emulator accepts it only with ``--link-option accept_ack_add=1`` and answers B4
    # otherwise (atol.md §9 question 2). A capture of the vendor driver (libfptr10 with
    # its DeviceDebug log) reading an archive shows whether it sends C5 and with what
    # bytes, and the register's reply to it.
    ACK_ADD = 0xC5


class TaskStatus(enum.IntEnum):
    PENDING = 0xA1
    IN_PROGRESS = 0xA2
    RESULT = 0xA3
    ERROR = 0xA4
    STOPPED = 0xA5  # a previous task failed
    ASYNC_RESULT = 0xA6
    ASYNC_ERROR = 0xA7
    WAITING = 0xA8  # waiting for an external device
    OVERFLOW = 0xB1
    ALREADY_EXISTS = 0xB2
    NOT_FOUND = 0xB3
    ILLEGAL = 0xB4


#: ADD flags [C]: bit0 the host wants the result, bit1 go on after an error, bit2 "async"
NEED_RESULT = 0x01
IGNORE_ERROR = 0x02
ASYNC_FLAG = 0x04

_Add = Struct("flags" / Int8ub, "tid" / Int8ub, "task" / GreedyBytes)

HostPacket = Struct(
    "command" / Enum(Byte, BufferCommand),
    "args" / Switch(this.command, {
        BufferCommand.ADD.name: _Add,
        BufferCommand.ACK.name: Struct("tid" / Int8ub),
        BufferCommand.REQ.name: Struct("tid" / Int8ub),
        BufferCommand.ABORT.name: Struct(),
        BufferCommand.ACK_ADD.name: Struct("ack_tid" / Int8ub, "add" / _Add),
    }),
)
"""What the host sends: ``C1 flags tid task…``, ``C2 tid``, ``C3 tid``, ``C4``."""

_ASYNC = (TaskStatus.ASYNC_RESULT, TaskStatus.ASYNC_ERROR)

KktPacket = Struct(
    "status" / Int8ub,
    "tid" / If(lambda ctx: ctx.status in _ASYNC, Int8ub),
    "answer" / GreedyBytes,
)
"""What the register sends: a status byte; A6/A7 (packet id 0xF0) then the task id; then
the command's own answer when the status carries one (A3, A4, A6, A7)."""

#: statuses that carry the command's answer
FINISHED = frozenset({TaskStatus.RESULT, TaskStatus.ERROR, *_ASYNC})
#: statuses that mean "not yet": keep waiting, ask again with REQ
UNFINISHED = frozenset({TaskStatus.PENDING, TaskStatus.IN_PROGRESS, TaskStatus.WAITING})


# The host packets of every task are built by these fast paths (a property test holds each
# equal to :data:`HostPacket`): construct takes ~40 µs a packet, and every microsecond
# between the register's result and the next ADD is time the line stands idle.

def add(tid: int, task: bytes, flags: int = NEED_RESULT) -> bytes:
    return bytes((BufferCommand.ADD, flags, tid)) + task


def ack(tid: int) -> bytes:
    return bytes((BufferCommand.ACK, tid))


def ack_add(ack_tid: int, tid: int, task: bytes, flags: int = NEED_RESULT) -> bytes:
    """C5 as :data:`HostPacket` declares it (its layout is [?], see :class:`BufferCommand`)."""
    return bytes((BufferCommand.ACK_ADD, ack_tid, flags, tid)) + task


def req(tid: int) -> bytes:
    return bytes((BufferCommand.REQ, tid))


def abort() -> bytes:
    return bytes((BufferCommand.ABORT,))


def build_host(command: str, **args: object) -> bytes:
    """A host packet through the declaration: the spec the fast paths keep."""
    return bytes(HostPacket.build({"command": command, "args": args}))


def parse_host(data: bytes) -> Container:
    """A host packet (the register's side); ProtocolError when it is no buffer command.
    The fast path of :func:`parse_host_declared` for the packets of a task (a property
    test holds them equal on any bytes)."""
    size = len(data)
    code = data[0] if size else None
    if code == BufferCommand.ADD and size >= 3:
        return Container(command="ADD", args=Container(flags=data[1], tid=data[2],
                                                       task=bytes(data[3:])))
    if code == BufferCommand.ACK and size == 2:
        return Container(command="ACK", args=Container(tid=data[1]))
    if code == BufferCommand.REQ and size == 2:
        return Container(command="REQ", args=Container(tid=data[1]))
    return parse_host_declared(data)


def parse_host_declared(data: bytes) -> Container:
    """A host packet through :data:`HostPacket`."""
    return _parse(HostPacket, data)


class KktReply:
    """A register packet as :data:`KktPacket` parses it (status, tid or None, answer)."""

    __slots__ = ("answer", "status", "tid")

    def __init__(self, status: int, tid: int | None, answer: bytes) -> None:
        self.status = status
        self.tid = tid
        self.answer = answer


def parse_kkt(data: bytes) -> KktReply:
    """A register packet (the host's side); ProtocolError when it is malformed. The fast
    path of :func:`parse_kkt_declared` (a property test holds them equal on any bytes)."""
    if not data or (data[0] in _ASYNC and len(data) < 2):
        parsed = parse_kkt_declared(data)  # raises what the declaration says is wrong
        return KktReply(parsed.status, parsed.tid, bytes(parsed.answer))
    status = data[0]
    if status in _ASYNC:
        return KktReply(status, data[1], bytes(data[2:]))
    return KktReply(status, None, bytes(data[1:]))


def parse_kkt_declared(data: bytes) -> Container:
    """A register packet through :data:`KktPacket`."""
    return _parse(KktPacket, data)


def _parse(declaration: Construct, data: bytes) -> Container:
    try:
        return declaration.parse(data)
    except ConstructError as exc:
        raise ProtocolError(
            _("пакет АТОЛ {data} не разобран: {reason}").format(
                data=data[:8].hex(" ").upper() or "—", reason=exc.__class__.__name__),
            _("повторите команду; если ошибка повторяется, проверьте кабель")) from exc


def reply(status: int, answer: bytes = b"", tid: int | None = None) -> bytes:
    """A register payload (the emulator's side): the fast path of :func:`reply_declared`
    (a property test holds them equal)."""
    if status in _ASYNC:
        if tid is None or not 0 <= tid <= 0xFF or not 0 <= status <= 0xFF:
            return reply_declared(status, answer, tid)  # raises what is wrong
        return bytes((status, tid)) + answer
    if not 0 <= status <= 0xFF:
        return reply_declared(status, answer, tid)
    return bytes((status,)) + answer


def reply_declared(status: int, answer: bytes = b"", tid: int | None = None) -> bytes:
    return bytes(KktPacket.build({"status": status, "tid": tid, "answer": answer}))


__all__ = [
    "ASYNC_FLAG", "FINISHED", "IGNORE_ERROR", "NEED_RESULT", "UNFINISHED", "BufferCommand",
    "HostPacket", "KktPacket", "KktReply", "TaskStatus", "abort", "ack", "ack_add", "add",
    "build_host",
    "parse_host", "parse_host_declared", "parse_kkt", "parse_kkt_declared", "reply",
    "reply_declared", "req",
]

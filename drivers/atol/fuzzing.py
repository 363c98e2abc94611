"""What of the ATOL driver is fuzzed (see :mod:`kkt_bridge.testing.fuzzing`): the transport
v3 frame and the frame reader, the task buffer's packets both ways, every command's answer
and its request as the emulator reads it, and the emulator's line fed junk from a host.
"""

from __future__ import annotations

from collections.abc import Callable

from kkt_bridge.testing.fuzzing import Target, from_construct

from .commands import REGISTRY, Command
from .frame import FrameReader, build_frame, parse_frame
from .taskbuffer import NEED_RESULT, add, parse_host, parse_kkt


def _reader(data: bytes) -> object:
    reader = FrameReader()
    reader.feed(data)
    frames = []
    for _frame in range(len(data) + 1):
        found = reader.next()
        if found is None:
            break
        frames.append(found)
    reader.cut()
    return frames


def _answer(command: Command) -> Callable[[bytes], object]:
    return command.parse_answer


def _task(command: Command) -> Callable[[bytes], object]:
    def decode(data: bytes) -> object:
        return command.parse_task(bytes(2) + command.code + data)
    return decode


def _emulator_line() -> Callable[[bytes], object]:
    from kkt_bridge.emulation.faults import FaultInjector

    from .emulator.frontend import make_link, make_register

    register = make_register()

    def line(data: bytes) -> object:
        link = make_link(register, FaultInjector(), "tcp", {})
        link.receive(data, 0.0)
        return link.poll(60.0)
    return line


def targets() -> list[Target]:
    status = next(c for c in REGISTRY.values() if c.code == b"\x3f")
    frame = build_frame(1, add(1, status.build_task(), NEED_RESULT))
    found = [
        Target("atol.frame", parse_frame, size=12, seeds=(frame,)),
        Target("atol.reader", _reader, size=24, seeds=(frame + frame,)),
        Target("atol.taskbuffer.host", parse_host, size=8,
               seeds=(add(1, status.build_task(), NEED_RESULT),)),
        Target("atol.taskbuffer.kkt", parse_kkt, size=8),
        Target("atol.emulator.line", _emulator_line(), size=24, seeds=(frame,)),
    ]
    for command in REGISTRY.values():
        label = command.code.hex()
        found.append(from_construct(f"atol.answer.{label}", command.answer, _answer(command)))
        found.append(from_construct(f"atol.request.{label}", command.request, _task(command)))
    return found

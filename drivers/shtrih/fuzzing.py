"""What of the Shtrih-M driver is fuzzed (see :mod:`kkt_bridge.testing.fuzzing`): the frame,
the transport's byte handshake, every command's answer (and request, as the emulator reads
it), the driver methods that make models out of answers, and the emulator's request handler
and line. Seeds for the driver methods are the emulator's own answers, recorded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from kkt_bridge.errors import LinkTimeoutError
from kkt_bridge.testing.fuzzing import Target, from_construct, switch_variants

from .commands import REGISTRY, Command
from .driver import ShtrihKkt
from .frame import ACK, ENQ, build_frame, parse_frame
from .transport import Transport

#: "short status" with the factory cashier password: the smallest valid request
_STATUS = b"\x10\x01\x00\x00\x00"

#: the driver's model-making methods, called with a register that answers the fuzz input
METHODS: dict[str, Callable[[ShtrihKkt], object]] = {
    "identity": ShtrihKkt.identity,
    "status": ShtrihKkt.status,
    "registration": ShtrihKkt.registration,
    "fn_status": ShtrihKkt.fn_status,
    "ofd_queue": ShtrihKkt.ofd_queue,
    "shift": ShtrihKkt.shift,
    "document_info": lambda kkt: kkt.document_info(1),
    "read_document": lambda kkt: kkt.read_document(1),
    "read_cashiers": ShtrihKkt.read_cashiers,
    "read_field": lambda kkt: kkt.read_field(18, 1, 2),
}


class _FakeTransport:
    """What the driver uses of a transport besides ``exchange``."""

    @contextlib.contextmanager
    def back_to_back(self) -> Iterator[None]:
        yield


class _Answers(_FakeTransport):
    """A transport whose answers come from the input: each is one length byte and that
    many bytes (error code + data) after the command's echo; the input's end is silence."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def exchange(self, body: bytes, timeout: float, *, query: bool = False,
                 follow: object = None) -> bytes:
        if self.pos >= len(self.data):
            raise LinkTimeoutError("silence", "fuzz")
        size = self.data[self.pos]
        chunk = self.data[self.pos + 1:self.pos + 1 + size]
        self.pos += 1 + size
        return body[:2 if body[:1] == b"\xff" else 1] + chunk


def _code(body: bytes) -> int:
    return int.from_bytes(body[:2], "big") if body[:1] == b"\xff" else body[0]


class _Recorder(_FakeTransport):
    """A transport in front of the emulator that keeps its answers (error byte + data) in
    order: what makes a method succeed, to be mutated."""

    def __init__(self, handle: Callable[[bytes], bytes]) -> None:
        self.handle = handle
        self.answers: list[tuple[int, bytes]] = []

    def exchange(self, body: bytes, timeout: float, *, query: bool = False,
                 follow: object = None) -> bytes:
        answer = self.handle(body)
        self.answers.append((_code(body), answer[2 if body[:1] == b"\xff" else 1:]))
        return answer

    def seeds(self) -> tuple[bytes, ...]:
        """The recorded answers in :class:`_Answers` form, and variants with one answer
        replaced by each layout its declaration switches between (zero-filled)."""
        def joined(answers: list[bytes]) -> bytes:
            return b"".join(bytes([len(a)]) + a for a in answers if len(a) <= 255)

        tails = [tail for _code_, tail in self.answers]
        found = [joined(tails)]
        for index, (code, tail) in enumerate(self.answers):
            command = REGISTRY.get(code)
            if command is None or tail[:1] != b"\x00":
                continue
            for variant in switch_variants(command.answer, tail[1:]):
                found.append(joined([*tails[:index], b"\x00" + variant, *tails[index + 1:]]))
        return tuple(found)


def _driver(data: bytes) -> ShtrihKkt:
    return ShtrihKkt(_Answers(data))  # type: ignore[arg-type]


def _method_target(name: str, method: Callable[[ShtrihKkt], object],
                   device: Any) -> Target:
    recorder = _Recorder(device.handle)
    try:
        method(ShtrihKkt(recorder))  # type: ignore[arg-type]
        seeds = recorder.seeds()
    except Exception:  # a method the emulated register refuses still gets fuzzed
        seeds = ()
    return Target(f"shtrih.driver.{name}", lambda data: method(_driver(data)), seeds=seeds)


class _Port:
    """A serial port that reads the input and then stays silent; time moves on by itself."""

    def __init__(self, data: bytes, clock: list[float]) -> None:
        self.data = data
        self.pos = 0
        self.clock = clock
        self.timeout: float | None = 0.05

    def read(self, size: int = 1) -> bytes:
        chunk = self.data[self.pos:self.pos + size]
        self.pos += len(chunk)
        self.clock[0] += self.timeout or 0.05 if not chunk else 0.001
        return chunk

    def write(self, data: bytes, /) -> int:
        return len(data)


def _transport(data: bytes) -> bytes:
    clock = [0.0]
    transport = Transport(_Port(data, clock), clock=lambda: clock[0],  # type: ignore[arg-type]
                          attempts=3)
    return transport.exchange(b"\x11\x1e\x00\x00\x00", 1.0)  # "full status"


def _answer(command: Command) -> Callable[[bytes], object]:
    return lambda data: command.parse_answer(command.code_bytes + b"\x00" + data)


def _error_answer(data: bytes) -> object:
    """An answer with an error code: the first byte picks the command, the second is the
    code (the typed DeviceError of each), the rest is whatever came along."""
    if len(data) < 2:
        return None
    commands = list(REGISTRY.values())
    command = commands[data[0] % len(commands)]
    return command.parse_answer(command.code_bytes + data[1:])


def _request(command: Command) -> Callable[[bytes], object]:
    return lambda data: command.parse_request(command.code_bytes + data)


def _emulator() -> Any:
    from .emulator.device import EmulatedDevice
    return EmulatedDevice(seed=1)


def _emulator_handle(device: Any) -> Callable[[bytes], bytes]:
    def handle(data: bytes) -> bytes:
        before = len(device.internal_errors)
        answer: bytes = device.handle(data)
        if len(device.internal_errors) > before:
            raise RuntimeError(device.internal_errors[-1])
        return answer
    return handle


def _emulator_line(device: Any) -> Callable[[bytes], object]:
    from .emulator.link import DeviceLink

    def line(data: bytes) -> object:
        link = DeviceLink(_emulator_handle(device))
        link.receive(data, 0.0)
        return link.poll(60.0)
    return line


def targets() -> list[Target]:
    device = _emulator()
    found = [
        Target("shtrih.frame", parse_frame, size=12, seeds=(build_frame(_STATUS),)),
        Target("shtrih.transport", _transport, size=24,
               seeds=(bytes([ACK]) + build_frame(b"\x11\x00\x1e" + bytes(40)),)),
        Target("shtrih.answer-error", _error_answer, size=4),
        Target("shtrih.emulator.handle", _emulator_handle(device), size=16,
               seeds=(_STATUS, b"\xff\x01\x1e\x00\x00\x00")),
        Target("shtrih.emulator.line", _emulator_line(device), size=24,
               seeds=(bytes([ENQ]) + build_frame(_STATUS) + bytes([ACK]),)),
    ]
    for command in REGISTRY.values():
        found.append(from_construct(f"shtrih.answer.{command.code:#x}", command.answer,
                                    _answer(command)))
        found.append(from_construct(f"shtrih.request.{command.code:#x}", command.request,
                                    _request(command)))
    found += [_method_target(name, method, device) for name, method in METHODS.items()]
    return found

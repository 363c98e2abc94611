"""A scripted ATOL peer on a fake port: frames in, scripted frames out, on a fake clock."""

from __future__ import annotations

from collections.abc import Callable

from kkt_bridge.drivers.atol.commands import lookup
from kkt_bridge.drivers.atol.frame import ASYNC_ID, FrameReader, build_frame
from kkt_bridge.drivers.atol.taskbuffer import HostPacket, TaskStatus, reply

Script = Callable[[int, bytes], list[bytes]]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class ScriptedPort:
    """What the host writes is parsed into packets and handed to ``script``, which returns
    the wire bytes the peer sends back. An empty read advances the clock by the timeout."""

    def __init__(self, script: Script, clock: FakeClock) -> None:
        self.script = script
        self.clock = clock
        self.timeout: float | None = 0.05
        self.inbound = bytearray()
        self.written: list[tuple[int, bytes]] = []  # (packet id, data) of every host packet
        self._reader = FrameReader()

    def write(self, data: bytes) -> int:
        self._reader.feed(data)
        while (frame := self._reader.next()) is not None:
            assert frame.data is not None, f"the host sent a damaged frame {frame.raw!r}"
            self.written.append((frame.packet_id, frame.data))
            for out in self.script(frame.packet_id, frame.data):
                self.inbound += out
        return len(data)

    def read(self, size: int = 1) -> bytes:
        if not self.inbound:
            self.clock.now += self.timeout or 0.05
            return b""
        out = bytes(self.inbound[:size])
        del self.inbound[:size]
        return out

    def close(self) -> None:
        pass


class TaskPeer:
    """A peer answering tasks from ``answers`` (task code -> answer bytes), asynchronously
    (A1, then F0 A6) or synchronously (A3 on the ADD's id), or from ``handler``."""

    def __init__(self, answers: dict[bytes, bytes] | None = None, *, mode: str = "async",
                 handler: Callable[[bytes], bytes] | None = None) -> None:
        self.answers = answers or {}
        self.mode = mode
        self.handler = handler
        self.tasks: list[bytes] = []
        self.acked: list[int] = []

    def answer_for(self, task: bytes) -> bytes:
        if self.handler is not None:
            return self.handler(task)
        cmd = lookup(task)
        assert cmd is not None, task.hex()
        return self.answers[cmd.code]

    def __call__(self, packet_id: int, data: bytes) -> list[bytes]:
        packet = HostPacket.parse(data)
        if packet.command == "ADD":
            self.tasks.append(bytes(packet.args.task))
            answer = self.answer_for(bytes(packet.args.task))
            if self.mode == "sync":
                return [build_frame(packet_id, reply(TaskStatus.RESULT, answer))]
            return [build_frame(packet_id, reply(TaskStatus.PENDING)),
                    build_frame(ASYNC_ID, reply(TaskStatus.ASYNC_RESULT, answer,
                                                packet.args.tid))]
        if packet.command == "ACK":
            self.acked.append(packet.args.tid)
        return []

"""The host handshake over a real pseudo-terminal against a scripted device."""

from __future__ import annotations

import socket
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shtrih_fakes import FakeDevice, Script, fake_port

from kkt_bridge.drivers.shtrih import errors as shtrih_errors
from kkt_bridge.drivers.shtrih.commands.status import SHORT_STATUS
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK, build_frame, parse_frame
from kkt_bridge.drivers.shtrih.transport import Transport, encode_frame
from kkt_bridge.errors import (
    DeviceError,
    FrameError,
    KktBridgeError,
    LinkClosedError,
    LinkTimeoutError,
    NotARegisterError,
    ProtocolError,
)
from kkt_bridge.link import open_link

REQUEST = bytes.fromhex("10 1E 00 00 00")  # 0x10, password 30
ANSWER = bytes.fromhex("10 00 1E 92 02 02 00 00 9F E5 20 01 00 8A 08 00")  # real (RS)
STALE = bytes.fromhex("13 00 1E")  # a beep answer nobody read


def echo_status(body: bytes) -> bytes:
    assert body == REQUEST
    return ANSWER


def transport(port: object, **kw: float) -> Transport:
    options = {"control_timeout": 2.0, **kw}
    return Transport(port, **options)  # type: ignore[arg-type]


def test_encode_frame_matches_the_declared_frame() -> None:
    for body in (b"\x10", REQUEST, ANSWER, bytes(range(255))):
        assert encode_frame(body) == build_frame(body)
        assert parse_frame(encode_frame(body)) == body
    with pytest.raises(FrameError):
        encode_frame(b"")
    with pytest.raises(FrameError):
        encode_frame(bytes(256))


def test_nak_path_sends_the_frame_and_reads_the_answer() -> None:
    script = Script()
    with fake_port(echo_status, script) as (port, device):
        assert transport(port).exchange(REQUEST, 3.0) == ANSWER
    assert script.received == [REQUEST]
    assert bytes(device.log) == bytes([ENQ]) + build_frame(REQUEST) + bytes([ACK])


def test_a_held_answer_is_read_and_dropped_first() -> None:
    script = Script(held=STALE)
    with fake_port(echo_status, script) as (port, device):
        assert transport(port).exchange(REQUEST, 3.0) == ANSWER
    assert script.received == [REQUEST]
    # ENQ -> ACK + stale answer, host ACKs it, ENQ again -> NAK, then the command
    assert bytes(device.log) == (bytes([ENQ, ACK, ENQ]) + build_frame(REQUEST) + bytes([ACK]))


def test_bad_lrc_is_naked_and_the_answer_sent_again() -> None:
    script = Script(corrupt_answers=1)
    with fake_port(echo_status, script) as (port, device):
        assert transport(port).exchange(REQUEST, 3.0) == ANSWER
    assert script.received == [REQUEST]  # not executed twice
    assert bytes(device.log) == (bytes([ENQ]) + build_frame(REQUEST)
                                 + bytes([NAK, ENQ, ACK]))


@pytest.mark.parametrize("tail", [
    pytest.param(bytes([NAK, 0x33, 0x44]), id="a-NAK-in-the-tail"),
    pytest.param(bytes([ACK, 0x02, 0x05, 0x02, 0x01]), id="ACK-and-STX-in-the-tail"),
    pytest.param(bytes([0x02, 0x03, ACK, NAK]), id="STX-first"),
])
def test_a_frame_whose_len_was_hit_is_naked_only_after_its_tail(tail: bytes) -> None:
    """A LEN byte hit on the line reads short: the rest of the frame still comes. Its data
    bytes must not be read as the device's reply to the next ENQ (a 15 taken for its NAK
    would lose an answer the device holds; an 02 taken for an STX would misframe the
    resent answer the same way every time). The host waits for the line to go quiet, then
    NAKs, and the device's second copy is read whole."""
    answer = ANSWER + tail * 3

    def handler(body: bytes) -> bytes:
        assert body == REQUEST
        return answer

    script = Script(short_len_answers=1, short_by=len(tail) * 3)
    with fake_port(handler, script) as (port, device):
        assert transport(port).exchange(REQUEST, 3.0) == answer
    assert script.received == [REQUEST]  # run once
    assert bytes(device.log) == (bytes([ENQ]) + build_frame(REQUEST)
                                 + bytes([NAK, ENQ, ACK]))


def test_a_naked_frame_is_sent_again() -> None:
    script = Script(nak_frames=2)
    with fake_port(echo_status, script) as (port, device):
        assert transport(port).exchange(REQUEST, 3.0) == ANSWER
    assert script.received == [REQUEST]
    frame = build_frame(REQUEST)
    assert bytes(device.log) == (bytes([ENQ]) + frame) * 3 + bytes([ACK])


@pytest.mark.parametrize("query", [True, False])
def test_an_ack_read_as_nak_does_not_run_the_command_twice(query: bool) -> None:
    """The device took the frame, but its ACK reads as NAK (a byte hit on the line). The
    answer it then sends is ours: taken, not dropped as an earlier command's, so the frame
    is not sent again (a sale would be made twice)."""
    script = Script(acks_read_as_nak=1)
    with fake_port(echo_status, script) as (port, _device):
        t = transport(port)
        assert t.exchange(REQUEST, 3.0, query=query) == ANSWER
        assert t.exchange(REQUEST, 3.0, query=query) == ANSWER  # the link is in step after
    assert script.received == [REQUEST, REQUEST]


def test_after_a_nak_a_held_answer_of_another_command_is_not_taken() -> None:
    """A frame really refused, and the device holds another program's answer (a different
    command echo): that answer is dropped and the frame goes again."""
    script = Script(nak_frames=1)
    with fake_port(echo_status, script) as (port, device):
        t = transport(port)
        real_write = t._send

        def write(data: bytes) -> object:
            if data == bytes([ENQ]) and script.nak_frames == 0 and device.held is None \
                    and not script.received:
                device.held = STALE  # another program's command ran in between
            return real_write(data)

        t._send = write  # type: ignore[method-assign]
        assert t.exchange(REQUEST, 3.0) == ANSWER
    assert script.received == [REQUEST]


def test_an_answer_that_does_not_echo_the_command_is_never_returned() -> None:
    """Behind the ACK of our frame comes another command's answer (bytes another program
    left on the line): it is not returned as ours."""
    with fake_port(lambda body: STALE, Script()) as (port, _device), \
            pytest.raises(ProtocolError):
        transport(port).exchange(REQUEST, 3.0)


def test_stray_ff_is_skipped_wherever_a_control_byte_is_awaited() -> None:
    script = Script(stray=True)
    with fake_port(echo_status, script) as (port, _device):
        t = transport(port)
        for _ in range(3):
            assert t.exchange(REQUEST, 3.0) == ANSWER
    assert script.received == [REQUEST] * 3


def test_an_unanswered_enq_is_repeated() -> None:
    script = Script(ignore_enqs=2)
    with fake_port(echo_status, script) as (port, _device):
        assert transport(port, control_timeout=0.1).exchange(REQUEST, 3.0) == ANSWER


def test_a_silent_device_raises_link_timeout() -> None:
    with fake_port(echo_status, Script(silent=True)) as (port, device), \
            pytest.raises(LinkTimeoutError) as info:
        transport(port, control_timeout=0.05, attempts=4).exchange(REQUEST, 0.1)
    assert "10" in info.value.message
    assert info.value.hint
    assert 1 <= bytes(device.log).count(ENQ) <= 4  # bounded, then it gives up


def test_endless_corruption_gives_up_after_the_attempts() -> None:
    with fake_port(echo_status, Script(corrupt_answers=100)) as (port, _device), \
            pytest.raises(LinkTimeoutError):
        transport(port, attempts=3).exchange(REQUEST, 3.0)


def test_an_accepted_command_whose_answer_vanished_is_not_sent_again() -> None:
    script = Script(corrupt_answers=1)
    with fake_port(echo_status, script) as (port, device):
        t = transport(port)
        real_reject = t._reject

        def reject_and_forget() -> None:
            device.held = None  # the device drops its answer after the host's NAK
            real_reject()

        t._reject = reject_and_forget  # type: ignore[method-assign]
        with pytest.raises(ProtocolError):
            t.exchange(REQUEST, 3.0)
    assert script.received == [REQUEST]


@pytest.mark.parametrize("code", sorted(shtrih_errors.BY_CODE))
def test_every_error_code_raises_its_typed_error(code: int) -> None:
    with fake_port(lambda body: SHORT_STATUS.error_answer(code)) as (port, _device):
        body = transport(port).exchange(SHORT_STATUS.build_request(password=30), 3.0)
    with pytest.raises(shtrih_errors.BY_CODE[code]) as info:
        SHORT_STATUS.parse_answer(body)
    assert isinstance(info.value, DeviceError)
    assert info.value.code == code and info.value.command == 0x10
    assert f"0x{code:02X}" in info.value.message



class _StreamPort:
    """A port that plays back fixed bytes; each empty read advances a fake clock by one
    byte timeout, so the transport's deadlines run without wall-clock waits."""

    def __init__(self, data: bytes) -> None:
        self.timeout: float | None = 0.05
        self.data = data
        self.now = 0.0
        self.reads = 0

    def clock(self) -> float:
        return self.now

    def read(self, size: int = 1) -> bytes:
        self.reads += 1
        out, self.data = self.data[:size], self.data[size:]
        if not out:
            self.now += 0.05
        return out

    def write(self, data: bytes) -> int:
        return len(data)


def test_a_lost_ack_before_the_answer_is_taken_from_the_stx() -> None:
    """The device's ACK of our frame is garbled on the line; its answer follows. The STX
    proves the frame was accepted: the answer is read at once, not hunted for a control
    byte inside its data (ANSWER holds no 0x06/0x15, but 0x15 could be any data byte)."""
    answer = bytes.fromhex("10 00 1E 15 06 02 00 00 9F E5 20 01 00 8A 08 00")
    stream = bytes([NAK, 0x86]) + build_frame(answer)
    port = _StreamPort(stream)
    written: list[bytes] = []

    def record(data: bytes) -> int:
        written.append(bytes(data))
        return len(data)

    port.write = record  # type: ignore[method-assign]
    t = Transport(port, control_timeout=0.2, clock=port.clock)
    assert t.exchange(REQUEST, 1.0) == answer
    assert written == [bytes([ENQ]), build_frame(REQUEST), bytes([ACK])]


class _ChunkPort(_StreamPort):
    """Plays back chunks; an empty chunk is a byte timeout of silence on the line."""

    def __init__(self, chunks: list[bytes]) -> None:
        super().__init__(b"")
        self.chunks = list(chunks)

    def read(self, size: int = 1) -> bytes:
        self.reads += 1
        if not self.chunks or not self.chunks[0]:
            if self.chunks:
                self.chunks.pop(0)
            self.now += 0.05
            return b""
        out, rest = self.chunks[0][:size], self.chunks[0][size:]
        if rest:
            self.chunks[0] = rest
        else:
            self.chunks.pop(0)
        return out


def test_an_answer_without_its_stx_is_asked_again_at_once() -> None:
    """The answer's STX is lost on the line: the rest of the frame is noise, then silence.
    The host NAKs and ENQs again straight away instead of waiting out the 30 s answer time,
    and the device sends the answer again."""
    answer = bytes.fromhex("10 00 1E 92 04 04 00 00 9F E5 20 01 00 8A 08 00")
    frame = build_frame(answer)
    assert 0x02 not in frame[1:]  # no byte of the rest may pass for an STX
    port = _ChunkPort([bytes([NAK, ACK]), frame[1:], b"", bytes([ACK]) + frame])
    written: list[bytes] = []
    port.write = lambda data: written.append(bytes(data)) or len(data)  # type: ignore[method-assign]
    t = Transport(port, control_timeout=0.2, clock=port.clock)
    assert t.exchange(REQUEST, 30.0) == answer
    assert written == [bytes([ENQ]), build_frame(REQUEST), bytes([NAK]), bytes([ENQ]),
                       bytes([ACK])]
    assert port.now < 1.0  # fake seconds: a byte timeout or two, not the answer time


def test_a_port_failure_mid_command_is_a_link_error() -> None:
    class Broken(_StreamPort):
        def read(self, size: int = 1) -> bytes:
            raise OSError(104, "Connection reset by peer")

    port = Broken(b"")
    with pytest.raises(LinkClosedError) as info:
        Transport(port, clock=port.clock).exchange(REQUEST, 1.0)
    assert "10" in info.value.message


@given(st.binary(max_size=400), st.booleans())
def test_no_byte_stream_crashes_the_transport(stream: bytes, blind: bool) -> None:
    """``blind``: a clean exchange of a query comes first, so the fuzzed one goes without
    ENQ and meets the bytes where its ACK is due (and the fall back after them)."""
    clean = bytes([NAK, ACK]) + build_frame(ANSWER) if blind else b""
    port = _StreamPort(clean + stream)
    t = Transport(port, control_timeout=0.2, clock=port.clock)
    if blind:
        assert t.exchange(REQUEST, 1.0, query=True) == ANSWER
    try:
        body = t.exchange(REQUEST, 1.0, query=True)
    except KktBridgeError:
        pass
    else:
        assert 0 < len(body) <= 255
    assert t.blind_frames == int(blind)
    assert port.reads <= len(clean) + len(stream) + 200  # bounded however the bytes fall


def test_over_tcp_with_stray_bytes() -> None:
    """socket:// through open_link, the device side a real TCP connection on port 0."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    host, port_number = server.getsockname()
    script = Script(stray=True)
    holder: dict[str, Any] = {}

    def accept() -> None:
        conn, _addr = server.accept()
        holder["conn"] = conn
        device = FakeDevice(conn.fileno(), echo_status, script)
        holder["device"] = device
        device.start()

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    link = open_link(f"socket://{host}:{port_number}", timeout=0.05)
    try:
        acceptor.join(timeout=5)
        t = transport(link)
        for _ in range(3):
            assert t.exchange(REQUEST, 3.0) == ANSWER
    finally:
        link.close()
        if "device" in holder:
            holder["device"].stop()
            holder["conn"].close()
        server.close()
    assert script.received == [REQUEST] * 3


def _chatter(port: Any, stop: threading.Event) -> None:
    """Not a register: a modem-like device answering every byte with text."""
    import os
    import select

    fd = port
    while not stop.is_set():
        if select.select([fd], [], [], 0.02)[0]:
            try:
                os.read(fd, 64)
                os.write(fd, b"OK\r\n")
            except OSError:
                return


def test_something_else_answering_is_not_a_register() -> None:
    import os
    import tty

    master, slave = os.openpty()
    tty.setraw(master)
    stop = threading.Event()
    thread = threading.Thread(target=_chatter, args=(master, stop), daemon=True)
    thread.start()
    port = open_link(os.ttyname(slave), timeout=0.05)
    os.close(slave)
    try:
        with pytest.raises(NotARegisterError) as info:
            transport(port, control_timeout=0.05, attempts=3).exchange(REQUEST, 0.1)
    finally:
        stop.set()
        thread.join(timeout=2)
        port.close()
        os.close(master)
    assert info.value.message.startswith(f"на {port.port} отвечает не ККТ")
    assert "4F 4B 0D 0A" in info.value.message  # what came instead: "OK\r\n"
    assert info.value.hint and "kkt-bridge devices" in info.value.hint


class _EndlessStream:
    """A port that never stops sending one byte: a streaming scale, a line at a wrong speed."""

    timeout: float | None = 0.05

    def __init__(self, byte: bytes) -> None:
        self.byte = byte
        self.reads = 0

    def read(self, size: int = 1) -> bytes:
        self.reads += 1
        if self.reads > 50_000:  # a transport that never looks at its clock fails, not hangs
            raise AssertionError("the transport kept reading past its deadline")
        return self.byte * size

    def write(self, data: bytes, /) -> int:
        return len(data)


@pytest.mark.parametrize(("byte", "error"), [
    (b"\xff", LinkTimeoutError),  # only the network register's stray byte: silence
    (b"A", NotARegisterError),  # anything else, endlessly: not a register
])
def test_an_endless_stream_ends_in_time_with_the_right_error(byte: bytes,
                                                              error: type[Exception]) -> None:
    ticks = iter(range(100_000))  # a clock that moves 10 ms per look; bounded either way
    tr = Transport(_EndlessStream(byte), control_timeout=0.05, attempts=3,  # type: ignore[arg-type]
                   clock=lambda: next(ticks) * 0.01)
    with pytest.raises(error) as info:
        tr.exchange(REQUEST, 0.1)
    assert type(info.value) is error


class _SlowDevice:
    """NAK to ENQ, ACK to a frame, then the answer only ``delay`` seconds later (fake clock:
    every empty read is one byte timeout)."""

    def __init__(self, answer: bytes, delay: float) -> None:
        self.timeout: float | None = 0.05
        self.answer = answer
        self.delay = delay
        self.now = 0.0
        self.out = b""
        self.ready_at: float | None = None

    def clock(self) -> float:
        return self.now

    def write(self, data: bytes, /) -> int:
        if data == bytes([ENQ]):
            self.out += bytes([NAK])
        elif data[:1] == b"\x02":
            self.out += bytes([ACK])
            self.ready_at = self.now + self.delay
        return len(data)

    def read(self, size: int = 1) -> bytes:
        if not self.out and self.ready_at is not None and self.now >= self.ready_at:
            self.out, self.ready_at = build_frame(self.answer), None
        if not self.out:
            self.now += 0.05
            return b""
        data, self.out = self.out[:size], self.out[size:]
        return data


@pytest.mark.parametrize(("name", "declared", "patient", "too_slow"), [
    ("short_status", 3.0, 2.0, 5.0),
    ("full_status", 3.0, 2.0, 5.0),
    ("beep", 30.0, 25.0, 35.0),  # the default
    ("z_report", 65.0, 60.0, 70.0),
    ("open_shift", 120.0, 110.0, 125.0),
])
def test_each_command_waits_its_own_answer_timeout(name: str, declared: float,
                                                   patient: float, too_slow: float) -> None:
    from kkt_bridge.drivers.shtrih.commands import REGISTRY
    from kkt_bridge.drivers.shtrih.driver import ShtrihKkt

    cmd = next(c for c in REGISTRY.values() if c.name == name)
    assert cmd.timeout == declared  # the vendor driver's figure (reference §1)
    if name == "short_status":
        answer = ANSWER
    elif name == "full_status":
        answer = cmd.error_answer(0x4F)  # any answer will do: a wrong password
    else:
        answer = cmd.build_answer(operator=1)
    device = _SlowDevice(answer, patient)
    kkt = ShtrihKkt(Transport(device, control_timeout=0.5, clock=device.clock))  # type: ignore[arg-type]
    if name == "full_status":
        with pytest.raises(shtrih_errors.WrongPasswordError):
            kkt.execute(cmd)
    else:
        kkt.execute(cmd)
    slow = _SlowDevice(answer, too_slow)
    kkt = ShtrihKkt(Transport(slow, control_timeout=0.5, clock=slow.clock))  # type: ignore[arg-type]
    with pytest.raises(LinkTimeoutError):
        kkt.execute(cmd)
    assert slow.now < too_slow  # it gave up at its deadline, not when the answer came


def test_a_device_that_accepts_and_never_answers_is_reported_as_such() -> None:
    """It used to say "did not answer (10 attempts)" after one attempt."""
    script = Script(hang_after_ack=True)
    with fake_port(echo_status, script) as (port, device), \
            pytest.raises(LinkTimeoutError) as info:
        transport(port, control_timeout=0.05, attempts=10).exchange(REQUEST, 0.2)
    assert script.received == [REQUEST]  # run once: never sent again
    assert bytes(device.log) == bytes([ENQ]) + build_frame(REQUEST)  # one attempt
    assert "приняла команду 10" in info.value.message
    assert "попыток" not in info.value.message
    assert "проверьте состояние ККТ" in (info.value.hint or "")


def test_a_silent_device_says_how_many_attempts_it_made() -> None:
    with fake_port(echo_status, Script(silent=True)) as (port, device), \
            pytest.raises(LinkTimeoutError) as info:
        transport(port, control_timeout=0.05, attempts=3).exchange(REQUEST, 5.0)
    enqs = bytes(device.log).count(ENQ)
    assert f"{enqs} из 3 попыток" in info.value.message


def test_the_same_request_object_changed_in_place_goes_as_it_is_now() -> None:
    """The transport keeps the last request's frame for the same body object (FF3B 25 times
    a document): a bytearray changed since must not go out as it was."""
    script = Script()
    body = bytearray(REQUEST)
    with fake_port(lambda _body: ANSWER, script) as (port, _device):
        link = transport(port)
        assert link.exchange(body, 3.0) == ANSWER  # type: ignore[arg-type]
        body[1] = 0x1F  # another password
        assert link.exchange(body, 3.0) == ANSWER  # type: ignore[arg-type]
        assert link.exchange(REQUEST, 3.0) == ANSWER
        assert link.exchange(REQUEST, 3.0) == ANSWER
    assert script.received == [REQUEST, bytes.fromhex("10 1F 00 00 00"), REQUEST, REQUEST]

"""Queries without ENQ after a clean exchange, and the fall back to the handshake, over a
real pseudo-terminal against the scripted device; and the re-read of a document whose
blocks did not add up (a block lost when a query ran twice)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from shtrih_fakes import FakeDevice, Register, Script, fake_port

from kkt_bridge.drivers.shtrih.commands import fn as fn_cmds
from kkt_bridge.drivers.shtrih.driver import DOCUMENT_READS, ShtrihKkt
from kkt_bridge.drivers.shtrih.emulator.device import EmulatedDevice
from kkt_bridge.drivers.shtrih.exchange import ShtrihExchangeRules
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK, build_frame
from kkt_bridge.drivers.shtrih.transport import BLIND_IDLE, Transport
from kkt_bridge.emulation.clock import ManualClock
from kkt_bridge.errors import ProtocolError

STATUS = bytes.fromhex("10 1E 00 00 00")  # 0x10, password 30
STATUS_ANSWER = bytes.fromhex("10 00 1E 92 02 02 00 00 9F E5 20 01 00 8A 08 00")
COUNT = fn_cmds.UNCONFIRMED_COUNT.build_request(password=30)  # FF3F
COUNT_ANSWER = fn_cmds.UNCONFIRMED_COUNT.build_answer(count=3)
ANSWERS = {STATUS: STATUS_ANSWER, COUNT: COUNT_ANSWER}


def answer(body: bytes) -> bytes:
    return ANSWERS[body]


class Recording:
    """A port that keeps every write call (to see which bytes went out together)."""

    def __init__(self, port: Any) -> None:
        self.port = port
        self.writes: list[bytes] = []

    @property
    def timeout(self) -> float | None:
        return float(self.port.timeout)

    @timeout.setter
    def timeout(self, value: float | None) -> None:
        self.port.timeout = value

    def read(self, size: int = 1) -> bytes:
        return bytes(self.port.read(size))

    def write(self, data: bytes, /) -> int | None:
        self.writes.append(bytes(data))
        return int(self.port.write(data))


@contextmanager
def link(script: Script | None = None, **options: Any
         ) -> Iterator[tuple[Transport, FakeDevice, Recording]]:
    with fake_port(answer, script) as (port, device):
        recording = Recording(port)
        # a wait no busy machine runs out of, unless the test has frames swallowed
        yield Transport(recording, **{"control_timeout": 2.0, **options}), device, recording


def frame(body: bytes) -> bytes:
    return build_frame(body)


ENQ_ = bytes([ENQ])
ACK_ = bytes([ACK])


def test_a_query_after_a_clean_exchange_goes_without_enq() -> None:
    with link() as (t, device, recording):
        assert t.exchange(STATUS, 3.0, query=True) == STATUS_ANSWER
        assert t.exchange(COUNT, 3.0, query=True) == COUNT_ANSWER
        assert t.exchange(STATUS, 3.0, query=True) == STATUS_ANSWER
    # the first command after opening asks with ENQ; the next ones go at once
    assert bytes(device.log) == (ENQ_ + frame(STATUS) + ACK_ + frame(COUNT) + ACK_
                                 + frame(STATUS) + ACK_)
    assert (t.blind_frames, t.blind_fallbacks) == (2, 0)
    # outside back_to_back each ACK goes when its answer is taken
    assert recording.writes == [ENQ_, frame(STATUS), ACK_, frame(COUNT), ACK_,
                                frame(STATUS), ACK_]


def test_the_ack_and_the_next_frame_go_in_one_write_back_to_back() -> None:
    with link() as (t, device, recording), t.back_to_back():
        for body in (STATUS, COUNT, COUNT):
            assert t.exchange(body, 3.0, query=True) == ANSWERS[body]
        assert recording.writes[-1] == ACK_ + frame(COUNT), "the last ACK is still owed"
    assert recording.writes == [ENQ_, frame(STATUS), ACK_ + frame(COUNT),
                                ACK_ + frame(COUNT), ACK_]
    assert bytes(device.log).endswith(ACK_)


def _not_a_query(t: Transport) -> bool:
    return False


def _settled(t: Transport) -> bool:
    t.settle()
    return True


def _no_blind(t: Transport) -> bool:
    t.blind = False
    return True


@pytest.mark.parametrize("before_second", [_not_a_query, _settled, _no_blind],
                         ids=["not-a-query", "after-settle", "blind-off"])
def test_enq_first_when_the_command_or_the_link_asks_for_it(
        before_second: Callable[[Transport], bool]) -> None:
    with link() as (t, device, _recording):
        t.exchange(STATUS, 3.0, query=True)
        query = before_second(t)
        t.exchange(COUNT, 3.0, query=query)
    assert bytes(device.log).endswith(ENQ_ + frame(COUNT) + ACK_)
    assert t.blind_frames == 0


def test_enq_first_after_the_link_was_quiet_too_long() -> None:
    skew = [0.0]

    def clock() -> float:
        return time.monotonic() + skew[0]

    with link(clock=clock) as (t, device, _recording):
        t.exchange(STATUS, 3.0, query=True)
        skew[0] += BLIND_IDLE + 0.1  # another program or a power cycle may have come
        t.exchange(COUNT, 3.0, query=True)
        t.exchange(STATUS, 3.0, query=True)
    assert bytes(device.log) == (ENQ_ + frame(STATUS) + ACK_ + ENQ_ + frame(COUNT) + ACK_
                                 + frame(STATUS) + ACK_)


@pytest.mark.parametrize("lost", [1, 2])
@pytest.mark.parametrize("second", [STATUS, COUNT], ids=["same-answer", "other-answer"])
def test_an_ignored_blind_frame_falls_back_and_drops_the_old_answer(lost: int,
                                                                    second: bytes) -> None:
    """Our ACK was lost, the device holds its answer and swallows the frame sent blind:
    silence, ENQ, the held answer (a byte-identical copy: dropped, however often it
    comes), ENQ, NAK, the frame again. Each command runs once."""
    # set before: the ACK of the first answer is written as that exchange ends
    script = Script(ignore_frames_while_held=True, lose_acks=lost)
    with link(script, control_timeout=0.3) as (t, device, _recording):
        assert t.exchange(STATUS, 3.0, query=True) == STATUS_ANSWER
        assert t.exchange(second, 3.0, query=True) == ANSWERS[second]
    assert script.received == [STATUS, second]
    assert script.lose_acks == 0, "every ACK the test meant to lose was lost"
    assert (t.blind_frames, t.blind_fallbacks) == (1, 1)
    copies = (ENQ_ + ACK_) * lost  # what goes between: ENQ, (copy), our ACK of it
    assert bytes(device.log) == (ENQ_ + frame(STATUS) + ACK_ + frame(second) + copies
                                 + ENQ_ + frame(second) + ACK_)


def test_a_blind_frame_that_ends_the_wait_for_ack_needs_no_fall_back() -> None:
    script = Script(lose_acks=1)
    with link(script) as (t, _device, _recording):
        t.exchange(STATUS, 3.0, query=True)
        assert t.exchange(COUNT, 3.0, query=True) == COUNT_ANSWER
    assert script.received == [STATUS, COUNT]
    assert script.lose_acks == 0, "the ACK of the first answer was lost"
    assert (t.blind_frames, t.blind_fallbacks) == (1, 0)


def test_a_naked_blind_frame_is_sent_again_after_enq() -> None:
    script = Script()
    with link(script) as (t, device, _recording):
        t.exchange(STATUS, 3.0, query=True)
        script.nak_frames = 1
        assert t.exchange(COUNT, 3.0, query=True) == COUNT_ANSWER
        # the exchange was not clean: the next query asks with ENQ again
        t.exchange(STATUS, 3.0, query=True)
    assert bytes(device.log) == (ENQ_ + frame(STATUS) + ACK_ + frame(COUNT) + ENQ_
                                 + frame(COUNT) + ACK_ + ENQ_ + frame(STATUS) + ACK_)
    assert (t.blind_frames, t.blind_fallbacks) == (1, 1)


def test_the_driver_sends_only_declared_queries_blind() -> None:
    register = Register({0x13: {"operator": 1}, 0xFF3F: {"count": 3}})
    with fake_port(register) as (port, device):
        kkt = ShtrihKkt(Transport(port, control_timeout=2.0))
        kkt.execute(fn_cmds.UNCONFIRMED_COUNT)
        kkt.execute(fn_cmds.UNCONFIRMED_COUNT)
        kkt.beep()  # a command that does something: ENQ first
        kkt.execute(fn_cmds.UNCONFIRMED_COUNT)
    beep = build_frame(bytes.fromhex("13 01 00 00 00"))
    assert bytes(device.log) == (ENQ_ + frame(COUNT) + ACK_ + frame(COUNT) + ACK_
                                 + ENQ_ + beep + ACK_ + frame(COUNT) + ACK_)


def test_the_shared_port_never_sends_blind() -> None:
    """Between two commands of the bridge the cash software talks to the register: an
    answer it left held would pass for ours, so every command asks with ENQ first."""
    with fake_port(answer) as (port, device):
        kkt = ShtrihExchangeRules().kkt_on_port(port)
        for body in (STATUS, COUNT, STATUS):
            kkt.transport.exchange(body, 3.0, query=True)
    assert bytes(device.log) == b"".join(ENQ_ + frame(b) + ACK_ for b in (STATUS, COUNT, STATUS))


# --- read_document: a block lost by a query that ran twice --------------------------------


class _SkippingTransport:
    """In front of the emulated register: at the FF3B numbers in ``skip`` the register
    runs the command twice and the host gets the second answer (the first was taken for
    a copy of the previous answer and dropped), so the ФН moves a block further."""

    def __init__(self, device: EmulatedDevice, skip: set[int]) -> None:
        self.device = device
        self.skip = skip
        self.blocks = 0
        self.sent: list[bytes] = []

    def exchange(self, body: bytes, timeout: float, *, query: bool = False,
                 follow: Any = None) -> bytes:
        self.sent.append(body[:2])
        if body[:2] == b"\xff\x3b":
            self.blocks += 1
            if self.blocks in self.skip:
                self.device.handle(body)
        return self.device.handle(body)

    @contextmanager
    def back_to_back(self) -> Iterator[None]:
        yield


@pytest.fixture
def device() -> EmulatedDevice:
    dev = EmulatedDevice(clock=ManualClock(), seed=3)
    dev.open_shift()
    dev.sell([("Товар", 4990), ("Другой товар", 12000)])
    return dev


def test_a_document_short_of_a_block_is_read_again_from_ff3a(device: EmulatedDevice) -> None:
    number = len(device.archive())
    transport = _SkippingTransport(device, skip={2})
    kkt = ShtrihKkt(transport)  # type: ignore[arg-type]
    assert kkt.read_document(number) == device.archive()[-1]
    assert transport.sent.count(b"\xff\x3a") == 2


def test_a_document_that_never_adds_up_fails_after_its_reads(device: EmulatedDevice) -> None:
    number = len(device.archive())
    transport = _SkippingTransport(device, skip=set(range(1, 10_000, 3)))
    kkt = ShtrihKkt(transport)  # type: ignore[arg-type]
    with pytest.raises(ProtocolError, match="ФН объявил"):
        kkt.read_document(number)
    assert transport.sent.count(b"\xff\x3a") == DOCUMENT_READS


# --- the next query sent at once (``follow``) --------------------------------------------


def test_the_query_follow_names_goes_with_the_ack_at_once_and_only_once() -> None:
    script = Script()
    with link(script) as (t, _device, recording), t.back_to_back():
        assert t.exchange(STATUS, 3.0, query=True, follow=lambda _a: COUNT) == STATUS_ANSWER
        # before the answer reached the caller, the next frame went with its ACK
        assert recording.writes[-1] == ACK_ + frame(COUNT)
        assert t.exchange(COUNT, 3.0, query=True, follow=lambda _a: None) == COUNT_ANSWER
    assert recording.writes == [ENQ_, frame(STATUS), ACK_ + frame(COUNT), ACK_]
    assert script.received == [STATUS, COUNT]
    assert (t.blind_frames, t.blind_fallbacks) == (1, 0)


def test_follow_waits_for_a_block_and_a_clean_exchange() -> None:
    asked: list[bytes] = []

    def follow(answer: bytes) -> bytes | None:
        asked.append(answer)
        return COUNT

    script = Script(nak_frames=1)  # the first frame is refused: not a clean exchange
    with link(script) as (t, _device, recording):
        assert t.exchange(STATUS, 3.0, query=True, follow=follow) == STATUS_ANSWER
        assert t.exchange(STATUS, 3.0, query=True, follow=follow) == STATUS_ANSWER
        assert asked == [], "outside back_to_back nothing goes ahead"
        with t.back_to_back():
            t.blind = False
            assert t.exchange(STATUS, 3.0, query=True, follow=follow) == STATUS_ANSWER
        assert asked == [], "nor on a port that is not ours alone"
    assert COUNT not in script.received
    assert ACK_ + frame(COUNT) not in recording.writes


def test_a_query_sent_ahead_and_not_asked_for_is_read_and_dropped() -> None:
    """The frame went ahead, then another command came: the answer to the frame sent
    ahead is read (and acknowledged) first, so no copy of it is left to meet the next
    command, and the link goes on clean."""
    script = Script()
    with link(script) as (t, _device, recording), t.back_to_back():
        t.exchange(STATUS, 3.0, query=True, follow=lambda _a: COUNT)
        assert t.exchange(STATUS, 3.0, query=True) == STATUS_ANSWER
    assert script.received == [STATUS, COUNT, STATUS]
    assert recording.writes == [ENQ_, frame(STATUS), ACK_ + frame(COUNT),
                                ACK_ + frame(STATUS), ACK_]


@pytest.mark.parametrize("after", ["next", "settle", "probe"])
def test_a_query_sent_ahead_when_the_block_ends_is_read_and_dropped(after: str) -> None:
    """The block ended (an error between the answer and the next call): its end reads
    the answer to the frame sent ahead, and whatever comes next finds a quiet link."""
    script = Script()
    with link(script) as (t, _device, recording):
        with t.back_to_back():
            t.exchange(STATUS, 3.0, query=True, follow=lambda _a: COUNT)
        assert recording.writes == [ENQ_, frame(STATUS), ACK_ + frame(COUNT), ACK_]
        if after == "settle":
            t.settle()
        elif after == "probe":
            assert t.probe(2.0) == NAK
        assert t.exchange(STATUS, 3.0, query=True) == STATUS_ANSWER
    assert script.received == [STATUS, COUNT, STATUS]


def test_a_query_sent_ahead_whose_ack_was_lost_falls_back_and_drops_the_copy() -> None:
    """The ACK that went with the frame sent ahead was lost: the device still holds the
    last answer and ignores the frame. The same fallback as for any blind frame: silence,
    ENQ, the copy (dropped), ENQ, NAK, the frame again. Each command runs once."""
    script = Script(ignore_frames_while_held=True, lose_acks=1)
    with link(script, control_timeout=0.3) as (t, device, _recording), t.back_to_back():
        assert t.exchange(STATUS, 3.0, query=True, follow=lambda _a: COUNT) == STATUS_ANSWER
        assert t.exchange(COUNT, 3.0, query=True) == COUNT_ANSWER
    assert script.received == [STATUS, COUNT]
    assert script.lose_acks == 0, "the ACK sent with the frame ahead was lost"
    assert (t.blind_frames, t.blind_fallbacks) == (1, 1)
    assert bytes(device.log) == (ENQ_ + frame(STATUS) + ACK_ + frame(COUNT) + ENQ_ + ACK_
                                 + ENQ_ + frame(COUNT) + ACK_)

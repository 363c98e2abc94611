"""The link wakes its line once a frame or control byte, not once a byte, and loses nothing:
driven only at its own deadlines it answers exactly as when polled every 50 us."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kkt_bridge.drivers.shtrih.emulator.link import DeviceLink, v2_frame
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK, build_frame
from kkt_bridge.emulation.faults import FaultInjector, parse_faults
from kkt_bridge.testing.paced_link import assert_punctual, drive

BAUD = 115200
BYTE = 10 / BAUD
STATUS = bytes.fromhex("10 1E 00 00 00")


def _device(body: bytes) -> bytes:
    return body[:1] + (b"\x4f" if body[:1] == b"\x10" else b"\x37")


def _link(spec: str = f"baud={BAUD}", *, stray_ff: bool = False) -> DeviceLink:
    return DeviceLink(_device, faults=FaultInjector(parse_faults(spec), seed=5),
                      stray_ff=stray_ff)


def test_a_whole_frame_is_one_wake_at_its_last_byte() -> None:
    link = _link()
    frame = build_frame(STATUS)
    link.receive(frame, 10.0)
    at = link.next_deadline()
    assert at == pytest.approx(10.0 + len(frame) * BYTE)  # not 10.0 + BYTE: no byte acts
    assert link.poll(at - BYTE) == b""
    assert link.poll(at) == b""  # the ACK is on the wire for one byte time
    ack = link.next_deadline()
    assert ack == pytest.approx(at + BYTE)
    assert link.poll(ack) == bytes([ACK])


def test_an_unfinished_frame_wakes_at_its_byte_timeout() -> None:
    link = _link()
    link.receive(build_frame(STATUS)[:4], 10.0)
    deadline = link.next_deadline()
    assert deadline == pytest.approx(10.0 + 4 * BYTE + 0.05)
    assert link.poll(deadline) == b""  # forgotten, without a NAK: it was a frame's start
    assert link.next_deadline() is None


PIECES = st.one_of(
    st.sampled_from([bytes([ENQ]), bytes([ACK]), bytes([NAK]), build_frame(STATUS),
                     build_frame(b"\xfc"), build_frame(b"\xff\x01\x1e\x00\x00\x00")]),
    st.builds(lambda b: build_frame(b)[:-1] + b"\x00", st.binary(min_size=1, max_size=8)),
    st.builds(lambda b: v2_frame(1, b), st.binary(min_size=1, max_size=6)),
    st.binary(min_size=1, max_size=4),
)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([0.0, 0.0005, 0.002, 0.08]), PIECES),
                min_size=1, max_size=8), st.booleans(),
       st.sampled_from([f"baud={BAUD}", f"baud={BAUD},latency=1"]))
# The ACK of the last frame is handled by a late poll while the NAK before it waits to be
# released: the ACK, and the answer after it, must still start when the frame ended.
@example([(0.0, build_frame(STATUS)), (0.0005, bytes([ENQ])),
          (0.0005, bytes.fromhex("02 01 00 00")), (0.0005, build_frame(b"\xfc"))],
         False, f"baud={BAUD}")
def test_waking_at_deadlines_answers_as_polling_every_50us(
        script: list[tuple[float, bytes]], stray_ff: bool, spec: str) -> None:
    end = sum(gap for gap, _ in script) + 0.5
    exact, exact_polls = drive(_link(spec, stray_ff=stray_ff), script, grid=None, end=end)
    polled, _ = drive(_link(spec, stray_ff=stray_ff), script, grid=50e-6, end=end)
    assert_punctual(exact, polled, 50e-6)
    bytes_in = sum(len(data) for _gap, data in script)
    assert exact_polls <= 2 * bytes_in + 2 * len(script) + 4

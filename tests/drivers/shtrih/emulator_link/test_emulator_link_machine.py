"""The device side of the handshake, driven byte by byte on a fake clock."""

from __future__ import annotations

import binascii

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kkt_bridge.drivers.shtrih.emulator.faults import FaultInjector, parse_faults
from kkt_bridge.drivers.shtrih.emulator.link import BYTE_TIMEOUT, DeviceLink, v2_frame
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK, STRAY, build_frame

STATUS = bytes.fromhex("10 1E 00 00 00")  # 0x10, password 30
WRONG_PASSWORD = bytes.fromhex("02 02 10 4F 5D")  # the real trace of reference §1


class Recorder:
    """A stand-in device: 0x10 answers "wrong password", anything else "unknown command"."""

    def __init__(self) -> None:
        self.calls: list[bytes] = []

    def __call__(self, body: bytes) -> bytes:
        self.calls.append(body)
        if body[:1] == b"\x10":
            return b"\x10\x4f"
        code = body[:2] if body[0] == 0xFF else body[:1]
        return code + b"\x37"


class Host:
    """Feeds a DeviceLink and collects what it sends, on a clock the test moves."""

    def __init__(self, spec: str = "", *, stray_ff: bool = False, seed: int | None = 1,
                 frame_while_held: str = "take") -> None:
        self.device = Recorder()
        self.power_cycles = 0
        self.link = DeviceLink(self.device, faults=FaultInjector(parse_faults(spec), seed),
                               stray_ff=stray_ff, power_cycle=self._power_cycle,
                               frame_while_held=frame_while_held)
        self.now = 100.0

    def _power_cycle(self) -> None:
        self.power_cycles += 1

    def send(self, data: bytes | int, after: float = 0.0) -> bytes:
        """Send, let ``after`` seconds pass, return everything the device wrote meanwhile."""
        self.now += 0.001
        self.link.receive(bytes([data]) if isinstance(data, int) else data, self.now)
        return self.wait(after)

    def wait(self, seconds: float = 0.0) -> bytes:
        out = bytearray()
        end = self.now + seconds
        for _ in range(100_000):  # bounded: a machine that never settles fails the test
            out += self.link.poll(self.now)
            deadline = self.link.next_deadline()
            if deadline is None or deadline > end:
                break
            self.now = max(self.now, deadline)
        else:
            pytest.fail("the link never settled")
        self.now = end
        out += self.link.poll(self.now)
        return bytes(out)


def test_enq_when_idle_is_nak() -> None:
    assert Host().send(ENQ) == bytes([NAK])


def test_good_frame_is_acked_and_answered_with_the_real_trace() -> None:
    host = Host()
    assert host.send(ENQ) == bytes([NAK])
    assert host.send(build_frame(STATUS)) == bytes([ACK]) + WRONG_PASSWORD
    assert host.device.calls == [STATUS]
    assert host.send(ACK) == b""
    assert host.send(ENQ) == bytes([NAK]), "after the ACK the answer is gone: idle again"


def test_bad_lrc_is_naked_and_not_executed() -> None:
    frame = bytearray(build_frame(STATUS))
    frame[-1] ^= 0x01
    host = Host()
    assert host.send(bytes(frame)) == bytes([NAK])
    assert host.device.calls == []


def test_unknown_command_is_acked_then_answered_with_an_error() -> None:
    host = Host()
    out = host.send(build_frame(b"\xfe\x01"))
    assert out[:1] == bytes([ACK])
    assert out[1:] == build_frame(b"\xfe\x37")


def test_naked_answer_is_sent_again_on_enq() -> None:
    host = Host()
    first = host.send(build_frame(STATUS))
    assert host.send(NAK) == b""
    assert host.send(ENQ) == bytes([ACK]) + first[1:]
    assert host.device.calls == [STATUS], "sending again does not execute again"
    host.send(ACK)
    assert host.send(ENQ) == bytes([NAK])


def test_unacknowledged_answer_is_held_until_enq() -> None:
    host = Host()
    host.send(build_frame(STATUS))
    host.wait(5.0)  # the host went away for a while
    assert host.send(ENQ) == bytes([ACK]) + WRONG_PASSWORD


def test_new_frame_abandons_a_held_answer() -> None:
    host = Host()
    host.send(build_frame(STATUS))
    out = host.send(build_frame(b"\xfc"))
    assert out == bytes([ACK]) + build_frame(b"\xfc\x37")
    assert len(host.device.calls) == 2


def test_with_frame_while_held_ignore_a_frame_waits_for_enq() -> None:
    host = Host(frame_while_held="ignore")
    host.send(build_frame(STATUS))
    assert host.send(build_frame(b"\xfc"), after=1.0) == b"", "swallowed: no ACK, no NAK"
    assert host.device.calls == [STATUS], "and not run"
    assert host.send(ENQ) == bytes([ACK]) + WRONG_PASSWORD, "the held answer, again"
    host.send(ACK)
    assert host.send(ENQ) == bytes([NAK])
    assert host.send(build_frame(b"\xfc")) == bytes([ACK]) + build_frame(b"\xfc\x37")


def test_frame_while_held_takes_one_of_two_values() -> None:
    with pytest.raises(ValueError, match="frame_while_held"):
        Host(frame_while_held="queue")


@pytest.mark.parametrize("frame_while_held", ["take", "ignore"])
def test_a_lost_ack_leaves_the_answer_held(frame_while_held: str) -> None:
    host = Host("lose_ack=1", frame_while_held=frame_while_held)
    first = host.send(build_frame(STATUS))
    assert host.send(ACK) == b""
    assert host.link.faults.stats["acks_lost"] == 1
    assert host.send(ENQ) == bytes([ACK]) + first[1:], "the device never heard the ACK"
    assert host.device.calls == [STATUS]


def test_frame_with_a_gap_over_50ms_is_forgotten() -> None:
    host = Host()
    frame = build_frame(STATUS)
    assert host.send(frame[:3], after=BYTE_TIMEOUT + 0.01) == b""
    assert host.send(frame[3:], after=BYTE_TIMEOUT + 0.01) == bytes([NAK]), \
        "the tail alone does not start with STX: a broken frame, NAKed once the line is quiet"
    assert host.device.calls == []
    assert host.send(frame) == bytes([ACK]) + WRONG_PASSWORD


def test_frame_with_gaps_under_50ms_is_accepted() -> None:
    host = Host()
    out = b""
    for byte in build_frame(STATUS):
        out += host.send(byte, after=BYTE_TIMEOUT - 0.01)
    assert out == bytes([ACK]) + WRONG_PASSWORD


def test_noise_is_skipped_then_naked_once() -> None:
    host = Host()
    assert host.send(b"\x33\x02\x05\x44") == b""
    assert host.wait(BYTE_TIMEOUT + 0.001) == bytes([NAK])
    assert host.send(ENQ) == bytes([NAK])
    assert host.device.calls == []


def test_noise_while_an_answer_is_held_gets_no_nak() -> None:
    host = Host()
    host.send(build_frame(STATUS))
    # the host's ACK arrived as noise: a NAK now would answer an ENQ the host has not sent
    assert host.send(b"\x33", after=BYTE_TIMEOUT * 2) == b""
    assert host.send(ENQ) == bytes([ACK]) + WRONG_PASSWORD


def test_zero_length_frame_is_noise() -> None:
    host = Host()
    assert host.send(b"\x02\x00\x00", after=0.1) == bytes([NAK])
    assert host.device.calls == []


def test_latency_answers_enq_with_ack_and_the_answer_comes_when_ready() -> None:
    host = Host("latency=200")
    assert host.send(build_frame(STATUS)) == bytes([ACK])
    assert host.send(ENQ, after=0.05) == bytes([ACK])
    assert host.wait(0.2) == WRONG_PASSWORD


def test_frame_while_preparing_is_naked() -> None:
    host = Host("latency=200")
    host.send(build_frame(STATUS))
    assert host.send(build_frame(b"\xfc")) == bytes([NAK])
    assert host.device.calls == [STATUS]


@pytest.mark.parametrize("stray", [True, False])
def test_stray_ff_after_the_hosts_ack_is_switchable(stray: bool) -> None:
    host = Host(stray_ff=stray)
    host.send(build_frame(STATUS))
    assert host.send(ACK) == (bytes([STRAY]) if stray else b"")
    assert host.send(ACK) == b"", "only an ACK of an answer earns the stray byte"


def test_device_that_raises_still_answers() -> None:
    host = Host()

    def broken(body: bytes) -> bytes:
        raise RuntimeError("bug")

    host.link.handler = broken
    assert host.send(build_frame(b"\xff\x01\x1e\x00\x00\x00")) == \
        bytes([ACK]) + build_frame(b"\xff\x01\x37")


# --- pacing ------------------------------------------------------------------------------------


def test_paced_line_delivers_no_byte_early() -> None:
    host = Host("baud=9600")
    byte_time = 10 / 9600
    frame = build_frame(STATUS)
    start = host.now + 0.001
    host.link.receive(frame, start)
    host.now = start
    eps = byte_time / 100
    # the device sees the last byte after len(frame) byte times; its ACK needs one more
    assert host.wait((len(frame) + 1) * byte_time - eps) == b""
    assert host.wait(2 * eps) == bytes([ACK])
    # the answer (5 bytes) is released as one chunk when its last byte would have arrived
    assert host.wait(5 * byte_time - 2 * eps) == b""
    assert host.wait(2 * eps) == WRONG_PASSWORD


# --- faults ------------------------------------------------------------------------------------


def test_nak_storm() -> None:
    host = Host("nak=1,nak_burst=3")
    for _ in range(3):
        assert host.send(build_frame(STATUS)) == bytes([NAK])
    assert host.device.calls == []


def test_nak_burst_continues_after_probability_is_drawn() -> None:
    host = Host("nak=0.0001,nak_burst=3", seed=1)
    host.link.faults._naks_left = 2  # a storm in progress
    assert host.send(build_frame(STATUS)) == bytes([NAK])
    assert host.send(build_frame(STATUS)) == bytes([NAK])
    assert host.send(build_frame(STATUS)).startswith(bytes([ACK]))


def test_silent_after_n_commands() -> None:
    host = Host("silent_after=1")
    assert host.send(build_frame(STATUS)) == bytes([ACK]) + WRONG_PASSWORD
    host.send(ACK)
    assert host.send(ENQ, after=1.0) == b""
    assert host.send(build_frame(STATUS), after=1.0) == b""
    assert len(host.device.calls) == 1


def test_silence_ends_after_silent_for() -> None:
    host = Host("silent_after=0,silent_for=2")
    assert host.send(ENQ, after=1.0) == b""
    host.wait(1.5)
    assert host.send(ENQ) == bytes([NAK])


def test_disconnect_cuts_the_answer_but_the_command_ran() -> None:
    host = Host("disconnect_after=1")
    host.link.handler = lambda body: body[:1] + b"\x00" + bytes(20)
    whole = host.send(build_frame(b"\xfc"))
    host.send(ACK)
    cut = host.send(build_frame(b"\xfc"))
    assert len(whole) == 1 + 3 + 22
    assert 1 < len(cut) < len(whole)
    assert host.link.disconnect_requested
    host.link.disconnect_requested = False
    assert host.send(ENQ) == bytes([NAK]), "a dropped line forgets the answer"


def test_power_loss_loses_the_command_and_cycles_the_device() -> None:
    host = Host("power_loss_at=2")
    host.send(build_frame(STATUS))
    host.send(ACK)
    assert host.send(build_frame(STATUS), after=0.2) == b""
    assert host.power_cycles == 1
    assert len(host.device.calls) == 1
    assert host.send(ENQ) == bytes([NAK])
    assert host.send(build_frame(STATUS)).startswith(bytes([ACK])), "power loss happens once"


def _noisy_run(seed: int) -> bytes:
    host = Host("corrupt=0.2,drop=0.1", seed=seed)
    out = bytearray()
    for _ in range(30):
        out += host.send(ENQ, after=0.06)
        out += host.send(build_frame(STATUS), after=0.06)
        out += host.send(ACK, after=0.06)
    return bytes(out)


def test_line_noise_replays_under_the_same_seed() -> None:
    assert _noisy_run(7) == _noisy_run(7)
    assert _noisy_run(7) != _noisy_run(8)


def test_corrupt_out_flips_every_byte_at_probability_one() -> None:
    host = Host("corrupt_out=1")
    out = host.send(ENQ)
    assert len(out) == 1
    assert out != bytes([NAK])


# --- protocol v2 -------------------------------------------------------------------------------


def test_v2_frame_of_the_reference_trace() -> None:
    real_answer = bytes.fromhex("8F 04 00 15 00 8D 30 C4 F4")
    assert v2_frame(0x15, b"\x8d\x30") == real_answer


def test_v2_request_gets_an_answer_with_its_number() -> None:
    host = Host()
    host.link.handler = lambda body: body[:1] + b"\x30"
    real_request = bytes.fromhex("8F 08 00 15 00 8D 01 00 00 00 00 4A EE")
    assert host.send(real_request) == bytes.fromhex("8F 04 00 15 00 8D 30 C4 F4")


def test_v2_repeat_is_answered_again_without_running_twice() -> None:
    host = Host()
    request = v2_frame(7, STATUS)
    first = host.send(request)
    assert first == v2_frame(7, b"\x10\x4f")
    assert host.send(request) == first
    assert host.device.calls == [STATUS]
    assert host.send(v2_frame(8, STATUS)) == v2_frame(8, b"\x10\x4f")
    assert len(host.device.calls) == 2


def test_v2_sync_tells_the_last_number() -> None:
    host = Host()
    sync = bytes.fromhex("8F 00 00") + binascii.crc_hqx(b"\x00\x00", 0xFFFF).to_bytes(2, "little")
    assert host.send(sync) == v2_frame(0, b"")
    host.send(v2_frame(41, STATUS))
    assert host.send(sync) == v2_frame(41, b"")


def test_v2_bad_crc_is_ignored() -> None:
    host = Host()
    frame = bytearray(v2_frame(3, STATUS))
    frame[-1] ^= 0x40
    assert host.send(bytes(frame), after=0.1) == b""
    assert host.device.calls == []


@given(st.integers(0, 0xFFFF), st.binary(min_size=1, max_size=300))
def test_v2_stuffing_carries_any_bytes(number: int, body: bytes) -> None:
    host = Host()
    seen: list[bytes] = []

    def echo(request: bytes) -> bytes:
        seen.append(request)
        return request

    host.link.handler = echo
    out = host.send(v2_frame(number, body))
    assert seen == [body]
    assert out == v2_frame(number, body)
    assert out.count(0x8F) == 1, "8F only starts the frame"


# --- any input ---------------------------------------------------------------------------------

_pieces = st.lists(
    st.one_of(
        st.binary(max_size=12),
        st.sampled_from([bytes([ENQ]), bytes([ACK]), bytes([NAK]), build_frame(STATUS),
                         build_frame(b"\xfc"), v2_frame(5, STATUS)]),
    ),
    max_size=25,
)


@given(_pieces, st.lists(st.sampled_from([0.0, 0.001, 0.03, 0.06]), min_size=25, max_size=25))
def test_any_bytes_run_only_whole_good_frames(pieces: list[bytes], gaps: list[float]) -> None:
    host = Host("latency=10")
    stream = b"".join(pieces)
    out = bytearray()
    for piece, gap in zip(pieces, gaps, strict=False):
        out += host.send(piece, after=gap)
    out += host.wait(1.0)
    for body in host.device.calls:
        assert build_frame(body) in stream or v2_frame(5, body) in stream
    assert host.link.next_deadline() is None, "a quiet line leaves nothing pending"
    _only_well_formed(bytes(out))


def _only_well_formed(out: bytes) -> None:
    """The device sends ACK, NAK, whole standard frames and whole v2 frames, nothing else."""
    pos = 0
    while pos < len(out):
        byte = out[pos]
        if byte in (ACK, NAK):
            pos += 1
        elif byte == 0x02:
            size = out[pos + 1]
            frame = out[pos:pos + size + 3]
            assert frame == build_frame(frame[2:-1])
            pos += size + 3
        else:
            assert byte == 0x8F, f"stray byte {byte:#x} at {pos}"
            plain = bytearray()
            end = pos + 1
            while len(plain) < 2 or len(plain) < int.from_bytes(plain[:2], "little") + 4:
                if out[end] == 0x9F:
                    plain.append({0x81: 0x8F, 0x83: 0x9F}[out[end + 1]])
                    end += 2
                else:
                    plain.append(out[end])
                    end += 1
            number = int.from_bytes(plain[2:4], "little")
            assert out[pos:end] == v2_frame(number, bytes(plain[4:-2]))
            pos = end

"""decode(encode(x)) == x for every declared command, requests and answers, and no input
crashes a decoder with anything but kkt-bridge's own errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from shtrih_strategies import normalize, strategy_for

from kkt_bridge.drivers.shtrih.commands import REGISTRY, Command
from kkt_bridge.drivers.shtrih.frame import parse_frame
from kkt_bridge.errors import KktBridgeError

COMMANDS = sorted(REGISTRY.values(), key=lambda cmd: cmd.code)
IDS = [f"{cmd.code:X}-{cmd.name}" for cmd in COMMANDS]


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_requests_round_trip(cmd: Command) -> None:
    @given(strategy_for(cmd.request))
    def check(fields: dict) -> None:
        body = cmd.build_request(**fields)
        assert normalize(cmd.parse_request(body)) == normalize(fields)

    check()


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_answers_round_trip(cmd: Command) -> None:
    @given(strategy_for(cmd.answer))
    def check(fields: dict) -> None:
        body = cmd.build_answer(**fields)
        assert normalize(cmd.parse_answer(body)) == normalize(fields)
        assert cmd.build_answer(**cmd.parse_answer(body)) == body

    check()


@pytest.mark.parametrize("cmd", COMMANDS, ids=IDS)
def test_no_bytes_crash_the_command_decoders(cmd: Command) -> None:
    @given(st.binary(max_size=80), st.integers(0, 255))
    def check(data: bytes, error: int) -> None:
        for decode, body in ((cmd.parse_request, cmd.code_bytes + data),
                             (cmd.parse_answer, cmd.code_bytes + bytes([error]) + data),
                             (cmd.parse_answer, data)):
            with contextlib.suppress(KktBridgeError):
                decode(body)

    check()


@given(st.binary(max_size=300))
def test_no_bytes_crash_the_frame_parser(data: bytes) -> None:
    try:
        body = parse_frame(data)
    except KktBridgeError:
        return
    assert data == bytes([0x02, len(body)]) + body + data[-1:]


# the commands the issue names; each is declared once and the round trips above cover it
ISSUE_COMMANDS = {
    0xFC: "device_type", 0x10: "short_status", 0x11: "full_status",
    0x1E: "write_table", 0x1F: "read_table",
    0xE0: "open_shift", 0x41: "z_report", 0x88: "cancel_receipt",
    0xFF01: "fn_status", 0xFF02: "fn_number", 0xFF03: "fn_validity",
    0xFF09: "last_registration", 0xFF0A: "find_document", 0xFF39: "ofd_exchange",
    0xFF3A: "document_tlv", 0xFF3B: "read_tlv_block", 0xFF3F: "unconfirmed_count",
    0xFF40: "shift_parameters",
    # correction receipts, declared once in commands/correction.py
    0xFF35: "begin_correction", 0xFF36: "correction_receipt",
}


def test_every_command_of_the_issue_is_declared() -> None:
    assert {code: REGISTRY[code].name for code in ISSUE_COMMANDS if code in REGISTRY} \
        == ISSUE_COMMANDS
    names = [cmd.name for cmd in COMMANDS]
    assert len(names) == len(set(names))  # a name is a driver method and an emulator handler


def test_correction_commands_live_in_their_own_family() -> None:
    from kkt_bridge.drivers.shtrih.commands import _FAMILIES, correction

    assert "correction" in _FAMILIES
    assert REGISTRY[0xFF35] is correction.BEGIN_CORRECTION
    assert REGISTRY[0xFF36] is correction.CORRECTION_RECEIPT


@given(st.binary(min_size=1, max_size=255))
def test_frames_round_trip(body: bytes) -> None:
    from kkt_bridge.drivers.shtrih.frame import build_frame
    from kkt_bridge.drivers.shtrih.transport import encode_frame

    frame = build_frame(body)
    assert frame == encode_frame(body)  # the hot path writes the declared frame
    assert (frame[0], frame[1]) == (0x02, len(body))
    assert parse_frame(frame) == body


@given(st.one_of(st.integers(0, 0xFE), st.integers(0xFF00, 0xFFFF)),
       st.integers(0, 255), st.binary(max_size=64))
def test_frame_bodies_round_trip(code: int, error: int, data: bytes) -> None:
    from kkt_bridge.drivers.shtrih.frame import AnswerBody, RequestBody

    request = RequestBody.build({"command": code, "data": data})
    assert request[:2 if code > 0xFF else 1] == code.to_bytes(2 if code > 0xFF else 1, "big")
    parsed = RequestBody.parse(request)
    assert (parsed.command, parsed.data) == (code, data)
    answer = AnswerBody.parse(AnswerBody.build({"command": code, "error": error, "data": data}))
    assert (answer.command, answer.error, answer.data) == (code, error, data)

"""decode(encode(x)) == x for every declared command, requests and answers, and no input
crashes a decoder with anything but kkt-bridge's own errors."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kkt_bridge.drivers.shtrih.commands import REGISTRY, Command
from kkt_bridge.drivers.shtrih.frame import parse_frame
from shtrih_strategies import normalize, strategy_for

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

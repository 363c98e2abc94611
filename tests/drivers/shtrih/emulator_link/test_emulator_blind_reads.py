"""The driver's queries without ENQ against the emulator, over a real pty and over TCP, with
the host's ACKs lost on the line: under either choice of the emulator for a frame that
comes while an answer is held, every document of a catch-up reads back byte for byte."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from kkt_bridge.cli.main import cli
from kkt_bridge.drivers.shtrih.driver import ShtrihKkt
from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.registers import open_register

#: short link timeouts: each frame the device swallows costs one wait for its ACK
FAST: dict[str, Any] = {"control_timeout": 0.2, "attempts": 10}
#: where no frame is swallowed, a wait no busy machine runs out of: the counts of frames
#: sent blind must not depend on how fast the emulator's process is scheduled
PATIENT: dict[str, Any] = {"control_timeout": 2.0, "attempts": 10}


@pytest.fixture(params=["take", "ignore"])
def emu(request: pytest.FixtureRequest,
        kkt_emulator_factory: Callable[..., Emulator]) -> Emulator:
    emulator = kkt_emulator_factory(seed=11, frame_while_held=request.param)
    emulator.open_shift()
    for price in (4990, 12000, 8950):
        emulator.sell([("Товар", price), ("Другой товар", price // 2)])
    return emulator


@pytest.fixture(params=["pty", "tcp"])
def kkt(request: pytest.FixtureRequest, emu: Emulator) -> Iterator[ShtrihKkt]:
    url = emu.pty_path if request.param == "pty" else emu.tcp_url
    swallows = emu.link_options["frame_while_held"] == "ignore"
    register: Any = open_register(url or "", driver="shtrih", **(FAST if swallows else PATIENT))
    try:
        yield register
    finally:
        register.close()


def test_a_catch_up_with_lost_acks_is_byte_exact(emu: Emulator, kkt: ShtrihKkt) -> None:
    stored = emu.archive()
    assert kkt.fn_status().last_fd_number == len(stored)
    emu.inject("lose_ack=0.15")
    read = [data for _number, data in kkt.iter_documents(1, len(stored))]
    assert read == stored
    assert emu.fault_stats["acks_lost"] > 0, "the fault must have fired for the test to count"
    transport = kkt.transport
    assert transport.blind_frames > 0
    if emu.link_options["frame_while_held"] == "ignore":
        # a lost ACK, then a frame sent blind: swallowed, and the handshake sorts it out
        assert transport.blind_fallbacks > 0
    else:
        # the frame ends the wait for the lost ACK: the device takes it, nothing to sort out
        assert transport.blind_fallbacks == 0
    emu.clear_faults()
    assert [data for _n, data in kkt.iter_documents(1, len(stored))] == stored


def test_a_healthy_catch_up_asks_with_enq_only_first(emu: Emulator, kkt: ShtrihKkt,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    stored = emu.archive()
    transport = kkt.transport
    transport.control_timeout = PATIENT["control_timeout"]  # nothing is swallowed here
    exchange = transport.exchange
    commands: list[bytes] = []

    def counted(body: bytes, timeout: float, **options: Any) -> bytes:
        commands.append(body[:2])
        return exchange(body, timeout, **options)

    monkeypatch.setattr(transport, "exchange", counted)
    read = [data for _number, data in kkt.iter_documents(1, len(stored))]
    assert read == stored
    assert commands.count(b"\xff\x3a") == len(stored)
    # the first command of the link asked with ENQ; every other one went blind
    assert transport.blind_frames == len(commands) - 1
    assert transport.blind_fallbacks == 0


def test_the_choice_from_the_command_line() -> None:
    """``--link-option frame_while_held=ignore`` reaches a running emulator; a value that
    is neither choice is refused before it starts."""
    child = subprocess.Popen(
        [sys.executable, "-c", "from kkt_bridge.cli.main import main; main()", "emulator",
         "--tcp", "127.0.0.1:0", "--no-control", "--faults", "lose_ack=0.5", "--seed", "3",
         "--link-option", "frame_while_held=ignore"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        assert url.startswith("socket://127.0.0.1:")
        kkt: Any = open_register(url, driver="shtrih", **FAST)
        try:
            # half the ACKs are lost: a query sent blind after one is swallowed
            for _status in range(4):
                assert kkt.fn_status().last_fd_number >= 1
            assert kkt.transport.blind_fallbacks > 0
        finally:
            kkt.close()
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=20)
    result = CliRunner().invoke(cli, ["emulator", "--tcp", "127.0.0.1:0",
                                      "--link-option", "frame_while_held=queue"])
    assert result.exit_code == 2 and "frame_while_held" in result.output

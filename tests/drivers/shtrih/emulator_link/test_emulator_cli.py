"""``kkt-bridge emulator`` as a user runs it: a child process, its stdout, a signal."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial
from click.testing import CliRunner

from kkt_bridge.cli.emulator import emulator_factory
from kkt_bridge.cli.main import cli
from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK

RUN = [sys.executable, "-m", "kkt_bridge.drivers.shtrih.emulator"]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*RUN, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


@pytest.fixture
def child() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)


def _enq(url: str) -> bytes:
    with serial.serial_for_url(url, timeout=2) as port:
        port.write(bytes([ENQ]))
        return bytes(port.read(1))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_prints_its_urls_first_and_stops_on_a_signal(
        sig: signal.Signals, child: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    proc = _start("--pty", "--tcp", "127.0.0.1:0", "--state", str(tmp_path / "kkt.json"))
    child.append(proc)
    assert proc.stdout is not None
    pty_path = proc.stdout.readline().strip()
    tcp_url = proc.stdout.readline().strip()
    assert pty_path.startswith("/dev/pts/")
    assert tcp_url.startswith("socket://127.0.0.1:")
    assert _enq(pty_path) == bytes([NAK])
    assert _enq(tcp_url) == bytes([NAK])
    proc.send_signal(sig)
    assert proc.wait(10) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def test_pty_is_the_default(child: list[subprocess.Popen[str]]) -> None:
    proc = _start()
    child.append(proc)
    assert proc.stdout is not None
    path = proc.stdout.readline().strip()
    assert path.startswith("/dev/pts/")
    with serial.Serial(path, timeout=2) as port:
        port.write(bytes([ENQ]))
        assert port.read(1) in (bytes([NAK]), bytes([ACK]))
    proc.terminate()
    assert proc.wait(10) == 0


@pytest.mark.parametrize(("args", "words"), [
    (["--profile", "p.json", "--unregistered"], "несовместимы"),
    (["--faults", "corrupt=7"], "corrupt=7"),
    (["--tcp", "nohost:port"], "nohost:port"),
    (["--profile", "/nonexistent/profile.json"], "profile.json"),
])
def test_bad_options_say_what_is_wrong(args: list[str], words: str) -> None:
    result = CliRunner().invoke(cli, ["emulator", *args])
    assert result.exit_code == 2
    assert words in result.output
    assert "Traceback" not in result.output


def test_emulator_is_reached_through_the_driver_plugin() -> None:
    assert emulator_factory() is Emulator

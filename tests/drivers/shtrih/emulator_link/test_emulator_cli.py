"""``kkt-bridge emulator`` as a user runs it: a child process, its stdout, a signal."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import serial
from click.testing import CliRunner

from kkt_bridge import emulation as kit
from kkt_bridge.cli.emulator import emulator_factory
from kkt_bridge.cli.main import cli
from kkt_bridge.drivers.shtrih.commands.fields import NOT_GIVEN5
from kkt_bridge.drivers.shtrih.commands.receipt import CLOSE_RECEIPT_V2, OPERATION_V2
from kkt_bridge.drivers.shtrih.emulator.profile import DEMO_PROFILE, rnm_is_valid, rnm_with_check
from kkt_bridge.drivers.shtrih.frame import ACK, ENQ, NAK
from kkt_bridge.fiscal import Receipt, decode_document, parse_document
from kkt_bridge.kkt import FnLifecycle
from kkt_bridge.registers import open_register

pyshtrih = pytest.importorskip("pyshtrih")

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


@pytest.mark.parametrize(("args", "words", "code"), [
    (["--driver", "nosuch"], "nosuch", 1),  # a plugin that is not there
    (["--faults", "corrupt=7"], "corrupt=7", 2),
    (["--tcp", "nohost:port"], "nohost:port", 2),
    (["--profile", "/nonexistent/profile.json"], "profile.json", 2),
])
def test_bad_options_say_what_is_wrong(args: list[str], words: str, code: int) -> None:
    result = CliRunner().invoke(cli, ["emulator", *args])
    assert result.exit_code == code
    assert words in result.output
    assert "Traceback" not in result.output


def test_emulator_is_reached_through_the_driver_plugin() -> None:
    emu = emulator_factory()(pty=False, tcp=None)
    assert isinstance(emu, kit.Emulator) and emu.front_end.name == "shtrih"


# --- as the issue names it: the installed `kkt-bridge emulator` -----------------------------

KKT_BRIDGE = [str(Path(sys.executable).with_name("kkt-bridge")), "emulator"]
INN = "5001007329"


def _cli(child: list[subprocess.Popen[str]], *args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([*KKT_BRIDGE, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    child.append(proc)
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def _stop(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    proc.send_signal(sig)
    assert proc.wait(10) == 0
    assert proc.stderr is not None
    assert "Traceback" not in proc.stderr.read()


def _sell(kkt: Any, price: int) -> None:
    kkt.execute(OPERATION_V2, operation=1, quantity=1_000_000, price=price, amount=NOT_GIVEN5,
                tax_amount=NOT_GIVEN5, tax_rate=8, department=1, payment_method=4,
                payment_subject=1, name="Товар")
    kkt.execute(CLOSE_RECEIPT_V2, payments=[price] + [0] * 15, rounding=0,
                tax_sums=[0] * 6, tax_system=2, text="")


def _read_all(kkt: Any) -> list[bytes]:
    return [data for _n, data in kkt.iter_documents(1, kkt.fn_status().last_fd_number)]


def test_profile_then_state_across_a_sigterm_and_a_sigint(
        child: list[subprocess.Popen[str]], tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({
        "inn": INN, "rnm_sequence": "0000000042", "tax_systems": ["usn_income", "patent"],
        "ffd": "1.2", "address": "г. Тверь, ул. Советская, 3"}), encoding="utf-8")
    state = tmp_path / "kkt.json"
    proc, pty_path = _cli(child, "--profile", str(profile), "--state", str(state))
    assert pty_path.startswith("/dev/pts/")
    with open_register(pty_path) as kkt:  # type: ignore[attr-defined]
        registration = kkt.registration()
        assert registration is not None
        assert registration.inn == INN
        # a new emulator has its own serial; the RNM's check digits follow it
        serial = kkt.identity().serial
        assert serial != DEMO_PROFILE.kkt_serial.lstrip("0")
        assert registration.rnm == rnm_with_check("0000000042", INN, serial)
        assert rnm_is_valid(registration.rnm, INN, serial)
        assert registration.tax_systems == 0b100010
        assert registration.ffd_version == "1.2"
        assert dict(parse_document(kkt.read_document(1))[1])[1009] == "г. Тверь, ул. Советская, 3"
        kkt.open_shift()
        _sell(kkt, 4990)
        before = _read_all(kkt)
    _stop(proc, signal.SIGTERM)
    assert len(before) == 3

    proc, pty_path = _cli(child, "--state", str(state))  # the file wins, no profile needed
    with open_register(pty_path) as kkt:  # type: ignore[attr-defined]
        assert _read_all(kkt) == before
        _sell(kkt, 1500)
        after = _read_all(kkt)
    _stop(proc, signal.SIGINT)
    proc, pty_path = _cli(child, "--state", str(state))
    with open_register(pty_path) as kkt:  # type: ignore[attr-defined]
        assert _read_all(kkt) == after and len(after) == 4
    _stop(proc, signal.SIGTERM)


def test_unregistered_starts_a_fresh_device(child: list[subprocess.Popen[str]]) -> None:
    proc, pty_path = _cli(child, "--unregistered")
    with open_register(pty_path) as kkt:  # type: ignore[attr-defined]
        assert kkt.fn_status().lifecycle == FnLifecycle.READY
        assert kkt.fn_status().last_fd_number == 0
        assert kkt.registration() is None
    _stop(proc, signal.SIGTERM)


def test_clients_close_and_reopen_the_pty_again_and_again(
        child: list[subprocess.Popen[str]]) -> None:
    """pyshtrih and the project's driver take turns on the pty, five times each."""
    proc, pty_path = _cli(child, "--pty")
    documents = 0
    for turn in range(5):
        till = pyshtrih.ShtrihM01F(pty_path, 115200)
        till.connect()
        try:
            assert till.state()["Подрежим ФР"].state == 0
            if turn == 0:
                till.open_shift()
                till.wait_printing()
            till.sale(("Хлеб", 1000, 4990))
            till.close_check(cash=4990)
            till.wait_printing()
        finally:
            till.disconnect()
        with open_register(pty_path) as kkt:  # type: ignore[attr-defined]
            last = kkt.fn_status().last_fd_number
            assert last == 1 + 1 + (turn + 1), "registration, shift open, one receipt a turn"
            receipt = decode_document(kkt.read_document(last))
            assert isinstance(receipt, Receipt) and receipt.total == 4990
            documents = last
    assert documents == 7
    _stop(proc, signal.SIGTERM)


def _line_noise(child: list[subprocess.Popen[str]], seed: int) -> bytes:
    proc, pty_path = _cli(child, "--baud", "115200", "--latency", "5",
                          "--faults", "corrupt_out=0.3", "--seed", str(seed))
    heard = bytearray()
    with serial.Serial(pty_path, timeout=2) as port:
        for _ in range(40):
            port.write(bytes([ENQ]))
            heard += port.read(1)  # NAK, or what the noise made of it
    _stop(proc, signal.SIGTERM)
    return bytes(heard)


def test_faults_and_seed_flags_replay_the_same_noise(
        child: list[subprocess.Popen[str]]) -> None:
    heard = _line_noise(child, 5)
    assert len(heard) == 40 and heard.count(NAK) < 40, "the noise fired"
    assert _line_noise(child, 5) == heard
    assert _line_noise(child, 6) != heard


class _Started(Exception):
    """Raised by the fake emulator: the command got as far as starting it."""


@pytest.mark.parametrize(("args", "pty", "tcp"), [
    ([], True, None),  # --pty is the default when no link is named
    (["--tcp"], False, "127.0.0.1"),  # the emulator adds its protocol's port (7778)
    (["--pty", "--tcp", "0.0.0.0:9000"], True, "0.0.0.0:9000"),
])
def test_link_options_reach_the_emulator(monkeypatch: pytest.MonkeyPatch, args: list[str],
                                         pty: bool, tcp: str | None) -> None:
    seen: dict[str, Any] = {}

    class Fake:
        def __init__(self, **options: Any) -> None:
            seen.update(options)

        def start(self) -> None:
            raise _Started

        def stop(self) -> None:
            seen["stopped"] = True

    monkeypatch.setattr("kkt_bridge.cli.emulator.emulator_factory", lambda driver: Fake)
    result = CliRunner().invoke(cli, ["emulator", *args, "--seed", "4", "--baud", "9600",
                                      "--latency", "20", "--faults", "nak=0.1"])
    assert isinstance(result.exception, _Started)
    assert (seen["pty"], seen["tcp"]) == (pty, tcp)
    assert (seen["seed"], seen["baud"], seen["latency_ms"], seen["faults"]) == (
        4, 9600, 20.0, "nak=0.1")
    assert seen["stopped"], "stopped even when starting failed"


@pytest.mark.parametrize("args", [
    ["--faults", "corrupt=7"],
    ["--tcp", "nohost:port"],
    ["--profile", "/nonexistent/profile.json"],
    ["--driver", "nosuch"],
    ["--no-stray-ff", "--baud", "-1"],
    ["--tcp", "BUSY"],  # a port another program holds: the line cannot start
])
def test_rejected_options_write_no_state_file(args: list[str], tmp_path: Path) -> None:
    state = tmp_path / "kkt.json"
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        args = [f"127.0.0.1:{port}" if arg == "BUSY" else arg for arg in args]
        result = CliRunner().invoke(cli, ["emulator", *args, "--state", str(state)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert not state.exists() and not state.with_name("kkt.json.archive").exists()


def test_profile_and_unregistered_go_together(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"inn": INN, "kkt_serial": "0000000000000077",
                                   "fn_number": "9999078900000077"}), encoding="utf-8")
    emu = emulator_factory()(pty=False, tcp=None, profile=profile, registered=False)
    assert not emu.device.registered and emu.archive() == []
    assert emu.device.state.identity.fn_number == "9999078900000077"
    emu.register()
    assert emu.device.state.registrations[-1].inn == INN

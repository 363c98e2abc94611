from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from kkt_bridge.cli import devices as devices_cli
from kkt_bridge.cli.main import cli
from kkt_bridge.driverapi import ProbeResult, UsbId
from kkt_bridge.errors import PortBusyError
from kkt_bridge.i18n import set_language
from kkt_bridge.link.discovery import Candidate, Confidence


class FakeDriver:
    name = "fake"
    title = "Фейк"
    usb_ids = (UsbId(0x1FC9, 0x0083, "Фейк-М"),)
    default_tcp_port: int | None = 7778
    probe_speeds = (115200, 9600)

    def __init__(self, answers: dict[str, int | None]) -> None:
        self.answers = answers

    def probe(self, url: str, baudrate: int | None, timeout: float) -> ProbeResult | None:
        if url == "/dev/ttyBUSY":
            raise PortBusyError("порт /dev/ttyBUSY занят процессом 7 (kassa)", "закройте")
        if url in self.answers and self.answers[url] == baudrate:
            return ProbeResult("fake", url, baudrate, "ФЕЙК-01Ф", "0042")
        return None

    def open(self, url: str, *, baudrate: int | None = None, **options: Any) -> Any:
        raise NotImplementedError


@pytest.fixture
def fake_world(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeDriver({"/dev/ttyACM0": 9600, "socket://10.0.0.5:7778": None})
    monkeypatch.setattr(devices_cli, "drivers", lambda: {"fake": fake})
    monkeypatch.setattr(devices_cli, "list_candidates", lambda installed: [
        Candidate("/dev/ttyACM0", Confidence.USB_ID, "fake", "Фейк-М", 0x1FC9, 0x0083, "0042"),
        Candidate("/dev/ttyBUSY", Confidence.SERIAL_PORT, None, "ttyBUSY"),
        Candidate("/dev/ttyS0", Confidence.SERIAL_PORT, None, "ttyS0"),
    ])


def test_table_lists_registers_and_busy_ports(fake_world: None) -> None:
    result = CliRunner().invoke(cli, ["devices", "--device", "socket://10.0.0.5"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Найденные ККТ" in out and "ФЕЙК-01Ф" in out and "0042" in out
    assert "/dev/ttyACM0" in out and "9600" in out
    assert "socket://10.0.0.5:7778" in out
    assert "занят процессом 7 (kassa)" in out
    assert "/dev/ttyS0" not in out  # silent, not a register: not listed


def test_json(fake_world: None) -> None:
    result = CliRunner().invoke(cli, ["devices", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["devices"] == [{"url": "/dev/ttyACM0", "driver": "fake", "model": "ФЕЙК-01Ф",
                                "serial": "0042", "speed": 9600}]
    assert [e["url"] for e in data["errors"]] == ["/dev/ttyBUSY"]
    assert data["errors"][0]["error"] == "PortBusyError"
    assert [c["confidence"] for c in data["candidates"]] == ["usb_id", "serial_port",
                                                              "serial_port"]


def test_no_probe_lists_candidates_only(fake_world: None) -> None:
    result = CliRunner().invoke(cli, ["devices", "--no-probe", "--json"])
    data = json.loads(result.output)
    assert data["devices"] == [] and data["errors"] == []
    assert data["candidates"][0]["usb_id"] == "1FC9:0083"
    table = CliRunner().invoke(cli, ["devices", "--no-probe"])
    assert "Порты, где может быть ККТ" in table.output and "1FC9:0083" in table.output


def test_nothing_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices_cli, "drivers", lambda: {"fake": FakeDriver({})})
    monkeypatch.setattr(devices_cli, "list_candidates", lambda installed: [])
    result = CliRunner().invoke(cli, ["devices"])
    assert result.exit_code == 0 and "ККТ не найдены" in result.output


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    try:
        yield
    finally:
        set_language("ru")


def test_english(fake_world: None, english: None) -> None:
    result = CliRunner().invoke(cli, ["--lang", "en", "devices"])
    assert "Registers found" in result.output and "Serial number" in result.output


def test_finds_the_emulator_on_pty_and_tcp(monkeypatch: pytest.MonkeyPatch,
                                           kkt_emulator_factory: Callable[..., Any]) -> None:
    emu = kkt_emulator_factory(baud=9600)
    monkeypatch.setattr(devices_cli, "list_candidates", lambda installed: [])
    result = CliRunner().invoke(cli, ["devices", "--json", "--device", emu.pty_path,
                                      "--device", emu.tcp_url])
    assert result.exit_code == 0, result.output
    found = {d["url"]: d for d in json.loads(result.output)["devices"]}
    assert found[emu.tcp_url]["speed"] is None
    assert found[emu.tcp_url]["model"] and found[emu.tcp_url]["serial"]
    # a pty has no line speed, so the emulator answers at the first speed tried
    assert found[emu.pty_path]["speed"] in FakeDriver.probe_speeds or \
        found[emu.pty_path]["speed"] == 115200


def test_nothing_found_says_how_to_name_a_network_register_or_an_emulator(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(devices_cli, "drivers", lambda: {"fake": FakeDriver({})})
    monkeypatch.setattr(devices_cli, "list_candidates", lambda installed: [])
    result = CliRunner().invoke(cli, ["devices"])
    assert "--device socket://" in " ".join(result.output.split())


def test_a_port_without_a_description_shows_a_dash(monkeypatch: pytest.MonkeyPatch) -> None:
    from kkt_bridge.link.discovery import Candidate, Confidence

    monkeypatch.setattr(devices_cli, "drivers", lambda: {"fake": FakeDriver({})})
    monkeypatch.setattr(devices_cli, "list_candidates", lambda installed: [
        Candidate("/dev/ttyS0", Confidence.SERIAL_PORT, None, "n/a")])
    result = CliRunner().invoke(cli, ["devices", "--no-probe"])
    assert "/dev/ttyS0" in result.output and "n/a" not in result.output, result.output


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_nothing_at_the_address_given_is_not_told_to_give_it(
        monkeypatch: pytest.MonkeyPatch, lang: str) -> None:
    """The user gave --device: the advice is about that address, not to give one."""
    monkeypatch.setattr(devices_cli, "drivers", lambda: {"fake": FakeDriver({})})
    monkeypatch.setattr(devices_cli, "list_candidates", lambda installed: [])
    try:
        result = CliRunner().invoke(cli, ["--lang", lang, "devices", "--device",
                                          "socket://10.0.0.9:7778"])
    finally:
        set_language("ru")
    out = " ".join(result.output.split())
    assert result.exit_code == 0, result.output
    assert "--device socket://АДРЕС" not in out and "--device socket://ADDRESS" not in out
    if lang == "ru":
        assert "socket://10.0.0.9:7778: ККТ не ответила" in out
        assert "Проверьте адрес и порт и что ККТ включена" in out
    else:
        assert "socket://10.0.0.9:7778: no register answered" in out
        assert "Check the address and the port and that the register is on" in out
        assert not any("а" <= ch <= "я" for ch in out.lower()), out


def test_an_address_given_beside_a_register_found_is_said_to_be_silent(
        fake_world: None) -> None:
    result = CliRunner().invoke(cli, ["devices", "--device", "socket://10.0.0.5:7778",
                                      "--device", "socket://10.0.0.9:7778"])
    out = " ".join(result.output.split())
    assert "ФЕЙК-01Ф" in out and "socket://10.0.0.9:7778: ККТ не ответила" in out
    assert "socket://10.0.0.5:7778: ККТ не ответила" not in out  # that one answered


def test_an_address_given_short_is_not_silent_when_found_under_its_full_name(
        fake_world: None) -> None:
    result = CliRunner().invoke(cli, ["devices", "--device", "socket://10.0.0.5"])
    assert "socket://10.0.0.5:7778" in result.output
    assert "не ответила" not in result.output and "Проверьте адрес" not in result.output

"""Opening a register by URL: the given driver, the recorded one, or the one whose protocol
answers a probe (each driver at its usual speed before the others)."""

from __future__ import annotations

from typing import Any

import pytest

from kkt_bridge import registers
from kkt_bridge.driverapi import ProbeResult
from kkt_bridge.errors import NotARegisterError


class FakeDriver:
    def __init__(self, name: str, answers_at: set[int | None], speeds: tuple[int, ...]) -> None:
        self.name = name
        self.title = name
        self.usb_ids = ()
        self.default_tcp_port = 1
        self.probe_speeds = speeds
        self.answers_at = answers_at
        self.probes: list[tuple[str, int | None]] = []
        self.opened: list[tuple[str, int | None]] = []

    def probe(self, url: str, baudrate: int | None, timeout: float) -> ProbeResult | None:
        self.probes.append((url, baudrate))
        if baudrate in self.answers_at:
            return ProbeResult(self.name, url, baudrate, self.name, "1")
        return None

    def open(self, url: str, *, baudrate: int | None = None, **options: Any) -> str:
        self.opened.append((url, baudrate))
        return f"{self.name}@{url}"


@pytest.fixture
def drivers(monkeypatch: pytest.MonkeyPatch) -> dict[str, FakeDriver]:
    found = {"shtrih": FakeDriver("shtrih", set(), (115200, 57600)),
             "atol": FakeDriver("atol", {115200}, (115200, 9600))}
    monkeypatch.setattr(registers, "load_drivers", lambda: found)
    monkeypatch.setattr(registers, "get_driver", lambda name: found[name])
    return found


def test_a_given_driver_opens_without_probing(drivers: dict[str, FakeDriver]) -> None:
    assert registers.open_register("/dev/ttyACM0", driver="atol") == "atol@/dev/ttyACM0"
    assert drivers["shtrih"].probes == drivers["atol"].probes == []


def test_without_a_driver_each_protocol_is_asked_at_its_usual_speed_first(
        drivers: dict[str, FakeDriver]) -> None:
    assert registers.open_register("/dev/ttyACM0") == "atol@/dev/ttyACM0"
    assert drivers["shtrih"].probes == [("/dev/ttyACM0", 115200)]
    assert drivers["atol"].probes == [("/dev/ttyACM0", 115200)]


def test_the_other_speeds_come_after(drivers: dict[str, FakeDriver]) -> None:
    drivers["atol"].answers_at = {9600}
    assert registers.detect_driver("/dev/ttyUSB0") == "atol"
    assert drivers["shtrih"].probes == [("/dev/ttyUSB0", 115200), ("/dev/ttyUSB0", 57600)]
    assert drivers["atol"].probes == [("/dev/ttyUSB0", 115200), ("/dev/ttyUSB0", 9600)]


def test_a_network_register_is_probed_once_per_driver(drivers: dict[str, FakeDriver]) -> None:
    drivers["atol"].answers_at = {None}
    assert registers.detect_driver("socket://10.0.0.5:5555") == "atol"
    assert [speed for _url, speed in drivers["shtrih"].probes] == [None]


def test_nothing_answers(drivers: dict[str, FakeDriver]) -> None:
    drivers["atol"].answers_at = set()
    with pytest.raises(NotARegisterError) as caught:
        registers.open_register("/dev/ttyS0")
    assert "--driver shtrih|atol" in str(caught.value)
    assert "другая программа" in str(caught.value)  # a held register is silent too


def test_a_daemon_opener_uses_the_recorded_driver(drivers: dict[str, FakeDriver]) -> None:
    class Record:
        def __init__(self, url: str | None, driver: str) -> None:
            self.device_url, self.driver = url, driver

    known = registers.recorded_drivers([Record("/dev/a", "atol"), Record(None, "shtrih")])
    assert known == {"/dev/a": "atol"}
    open_url = registers.opener(None, known)
    assert open_url("/dev/a") == "atol@/dev/a"
    assert drivers["atol"].probes == []
    assert registers.opener("shtrih", known)("/dev/a") == "shtrih@/dev/a"


@pytest.fixture(autouse=True)
def _nothing_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registers, "_answered", {})


def test_a_likely_driver_is_asked_first(drivers: dict[str, FakeDriver]) -> None:
    assert registers.detect_driver("/dev/ttyACM0", likely="atol") == "atol"
    assert drivers["shtrih"].probes == []
    assert drivers["atol"].probes == [("/dev/ttyACM0", 115200)]


def test_a_wrong_hint_costs_one_probe_and_every_driver_is_still_asked(
        drivers: dict[str, FakeDriver]) -> None:
    drivers["atol"].answers_at = set()
    drivers["shtrih"].answers_at = {57600}
    assert registers.detect_driver("/dev/ttyUSB0", likely="atol") == "shtrih"
    # the same attempts as without the hint, the hinted driver first in each pass
    assert drivers["atol"].probes == [("/dev/ttyUSB0", 115200), ("/dev/ttyUSB0", 9600)]
    assert drivers["shtrih"].probes == [("/dev/ttyUSB0", 115200), ("/dev/ttyUSB0", 57600)]


def test_an_unknown_hint_is_ignored(drivers: dict[str, FakeDriver]) -> None:
    assert registers.detect_driver("/dev/ttyACM0", likely="nosuch") == "atol"
    assert drivers["shtrih"].probes == [("/dev/ttyACM0", 115200)]


def test_the_driver_that_answered_at_a_url_is_asked_first_next_time(
        drivers: dict[str, FakeDriver]) -> None:
    assert registers.detect_driver("/dev/ttyACM0") == "atol"
    assert registers.detect_driver("/dev/ttyACM1") == "atol"
    drivers["shtrih"].probes.clear()
    assert registers.detect_driver("/dev/ttyACM0") == "atol"
    assert drivers["shtrih"].probes == []


def test_remembered_urls_are_bounded(drivers: dict[str, FakeDriver],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(registers, "REMEMBERED_URLS", 2)
    for n in range(3):
        registers.remember_driver(f"/dev/tty{n}", "atol")
    assert list(registers._answered) == ["/dev/tty1", "/dev/tty2"]


def test_the_usual_tcp_port_of_a_driver_puts_it_first(drivers: dict[str, FakeDriver]) -> None:
    drivers["atol"].default_tcp_port = 5555
    drivers["atol"].answers_at = {None}
    assert registers.detect_driver("socket://10.0.0.5:5555") == "atol"
    assert drivers["shtrih"].probes == []
    # another port says nothing: the installed order
    assert registers.probe_order("socket://10.0.0.5:9999", drivers) == ["shtrih", "atol"]


def test_the_recorded_opener_passes_the_record_as_a_hint() -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    def fake_open(url: str, **options: Any) -> str:
        calls.append((url, options))
        return url

    records = {"/dev/a": "atol"}
    open_url = registers.recorded_opener(lambda: records, fake_open)
    open_url("/dev/a")
    open_url("/dev/b")
    records["/dev/b"] = "shtrih"  # read at each open: a pairing made meanwhile counts
    open_url("/dev/b")
    assert calls == [("/dev/a", {"likely": "atol"}), ("/dev/b", {}),
                     ("/dev/b", {"likely": "shtrih"})]


def test_a_wrong_hint_still_finds_an_emulated_register(kkt_emulator_factory: Any,
                                                       driver: str) -> None:
    """The other protocol's probe first (its bytes on the line before ours) does not keep
    the register from answering its own."""
    emu = kkt_emulator_factory(driver=driver, pty=True, tcp=0)
    other = "atol" if driver == "shtrih" else "shtrih"
    for url in (emu.pty_path, emu.tcp_url):
        assert registers.detect_driver(url, likely=other) == driver
        assert registers.detect_driver(url, likely=driver) == driver


def test_an_emulator_started_here_makes_its_protocol_likely_at_its_addresses(
        kkt_emulator_factory: Any) -> None:
    emu = kkt_emulator_factory(driver="atol", pty=True, tcp=0)
    for url in (emu.pty_path, emu.tcp_url):
        assert registers.probe_order(url, {"shtrih": object(), "atol": object()}) == [
            "atol", "shtrih"]

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
    assert "--driver" in str(caught.value)


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

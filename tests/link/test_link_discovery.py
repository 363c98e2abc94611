from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from kkt_bridge.driverapi import Driver, ProbeResult, UsbId
from kkt_bridge.errors import PortBusyError
from kkt_bridge.link.discovery import Confidence, list_candidates, probe, probe_candidates


@dataclass
class FakeDriver:
    """A driver that "finds" a register at one (url, speed) and records every question."""

    name: str = "fake"
    title: str = "Фейк"
    usb_ids: tuple[UsbId, ...] = (UsbId(0x1FC9, 0x0083, "Фейк-М"),
                                  UsbId(0x2912, None, "Фейк-АТОЛ"),
                                  UsbId(0xABCD, 0x1980, "Фейк без CDC", cdc_acm=False))
    default_tcp_port: int | None = 7778
    probe_speeds: tuple[int, ...] = (115200, 57600, 19200, 9600, 4800)
    answers_at: tuple[str, int | None] | None = None
    asked: list[tuple[str, int | None, float]] = field(default_factory=list)
    raises: Exception | None = None

    def probe(self, url: str, baudrate: int | None, timeout: float) -> ProbeResult | None:
        self.asked.append((url, baudrate, timeout))
        if self.raises is not None:
            raise self.raises
        if self.answers_at == (url, baudrate):
            return ProbeResult(self.name, url, baudrate, "ФЕЙК-01Ф", "0042")
        return None

    def open(self, url: str, *, baudrate: int | None = None, **options: Any) -> Any:
        raise NotImplementedError


@dataclass
class Port:
    device: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None
    description: str = "n/a"


def drivers(*items: FakeDriver) -> dict[str, Driver]:
    return {d.name: d for d in items}


def test_fake_driver_satisfies_protocol() -> None:
    assert isinstance(FakeDriver(), Driver)


def test_candidates_ranked_by_usb_id() -> None:
    ports = [Port("/dev/ttyS0", description="ttyS0"),
             Port("/dev/ttyACM0", 0x1FC9, 0x0083, "0042"),
             Port("/dev/ttyACM1", 0x2912, 0x0005, "77"),
             Port("/dev/ttyUSB0", 0x0403, 0x6001, None, "FT232R")]
    found = list_candidates(drivers(FakeDriver()), comports=lambda: ports,
                            usb_devices=lambda: [])
    assert [c.url for c in found] == ["/dev/ttyACM0", "/dev/ttyACM1", "/dev/ttyS0",
                                      "/dev/ttyUSB0"]
    first = found[0]
    assert (first.confidence, first.driver, first.title, first.usb_id, first.serial_number) \
        == (Confidence.USB_ID, "fake", "Фейк-М", "1FC9:0083", "0042")
    assert found[1].title == "Фейк-АТОЛ"
    assert found[3].confidence is Confidence.SERIAL_PORT and found[3].driver is None
    assert found[3].title == "FT232R"


def test_usb_devices_without_tty_become_usb_urls() -> None:
    ports = [Port("/dev/ttyACM0", 0x1FC9, 0x0083, "0042")]
    usb = [(0x1FC9, 0x0083, "0042"),  # the same device as the tty: not listed twice
           (0xABCD, 0x1980, "X1"),
           (0xABCD, 0x1980, None),
           (0x046D, 0xC52B, "mouse")]  # not a register
    found = list_candidates(drivers(FakeDriver()), comports=lambda: ports,
                            usb_devices=lambda: usb)
    assert [c.url for c in found] == ["/dev/ttyACM0", "usb://ABCD:1980",
                                      "usb://ABCD:1980/X1"]


def test_no_drivers_means_only_plain_serial_ports() -> None:
    found = list_candidates({}, comports=lambda: [Port("/dev/ttyACM0", 0x1FC9, 0x0083)],
                            usb_devices=lambda: [(0xABCD, 0x1980, None)])
    assert [(c.url, c.confidence) for c in found] == [("/dev/ttyACM0",
                                                       Confidence.SERIAL_PORT)]


def test_probe_walks_speeds_fastest_first() -> None:
    fake = FakeDriver(answers_at=("/dev/ttyUSB0", 9600))
    result = probe("/dev/ttyUSB0", drivers(fake), timeout=0.1)
    assert result is not None and result.baudrate == 9600 and result.model == "ФЕЙК-01Ф"
    assert [b for _u, b, _t in fake.asked] == [115200, 57600, 19200, 9600]


def test_probe_socket_once_with_default_port() -> None:
    fake = FakeDriver(answers_at=("socket://10.0.0.5:7778", None))
    result = probe("socket://10.0.0.5", drivers(fake))
    assert result is not None and result.url == "socket://10.0.0.5:7778"
    assert len(fake.asked) == 1


@pytest.mark.parametrize("url", ["usb://1FC9:0083", "socket://h:1", "loop://"])
def test_probe_links_without_speed_once(url: str) -> None:
    fake = FakeDriver()
    assert probe(url, drivers(fake)) is None
    assert len(fake.asked) == 1 and fake.asked[0][1] is None


def test_probe_nothing_found_asks_every_driver() -> None:
    a, b = FakeDriver(name="a"), FakeDriver(name="b", probe_speeds=(4800,))
    assert probe("/dev/ttyS0", drivers(a, b)) is None
    assert len(a.asked) == 5 and len(b.asked) == 1


def test_probe_propagates_link_errors_and_probe_candidates_reports_them() -> None:
    busy = PortBusyError("порт занят", "закройте")
    fake = FakeDriver(raises=busy)
    with pytest.raises(PortBusyError):
        probe("/dev/ttyS0", drivers(fake))
    found = list_candidates(drivers(fake), comports=lambda: [Port("/dev/ttyS0")],
                            usb_devices=lambda: [])
    [(candidate, result, error)] = probe_candidates(found, drivers(fake))
    assert candidate.url == "/dev/ttyS0" and result is None and error is busy


def test_probe_candidates_uses_the_matching_driver_only() -> None:
    a = FakeDriver(name="a", answers_at=("/dev/ttyACM0", 115200))
    b = FakeDriver(name="b", usb_ids=())
    found = list_candidates(drivers(a, b), comports=lambda: [
        Port("/dev/ttyACM0", 0x1FC9, 0x0083)], usb_devices=lambda: [])
    [(_c, result, error)] = probe_candidates(found, drivers(a, b))
    assert result is not None and result.driver == "a" and error is None
    assert b.asked == []

"""A faster ``kkt-bridge devices`` that finds the same registers: the likely speeds first,
the protocol's own answer time at the other speeds, ports probed at the same time, and no
probe where the kernel says no UART (or no such speed) is behind a port."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from kkt_bridge.driverapi import ProbeResult
from kkt_bridge.link import discovery
from kkt_bridge.link.discovery import (
    Candidate,
    Confidence,
    attempts,
    fastest_speed,
    list_candidates,
    no_uart,
    probe_candidates,
)


class Fake:
    def __init__(self, name: str, speeds: tuple[int, ...], answer_time: float | None = None,
                 ) -> None:
        self.name, self.title, self.usb_ids = name, name, ()
        self.default_tcp_port = None
        self.probe_speeds = speeds
        if answer_time is not None:
            self.probe_answer_time = answer_time
        self.found_at: dict[str, int | None] = {}
        self.asked: list[tuple[str, int | None, float]] = []
        self.barrier: threading.Barrier | None = None
        self.lock = threading.Lock()
        self.inside = self.most_inside = 0

    def probe(self, url: str, baudrate: int | None, timeout: float) -> ProbeResult | None:
        with self.lock:
            self.asked.append((url, baudrate, timeout))
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
        try:
            if self.barrier is not None:
                self.barrier.wait()  # broken (the test fails) unless both ports are asked at once
            if url in self.found_at and self.found_at[url] == baudrate:
                return ProbeResult(self.name, url, baudrate, "М", "1")
            return None
        finally:
            with self.lock:
                self.inside -= 1

    def open(self, url: str, **options: Any) -> Any:
        raise NotImplementedError


def tty(root: Path, name: str, **files: str) -> None:
    (root / name).mkdir(parents=True)
    for key, value in files.items():
        (root / name / key).write_text(value + "\n")


def test_a_serial_port_without_a_uart_is_not_a_candidate(tmp_path: Path) -> None:
    tty(tmp_path, "ttyS0", type="4", uartclk="1843200")
    tty(tmp_path, "ttyS1", type="0", uartclk="0")
    assert not no_uart("/dev/ttyS0", tmp_path) and no_uart("/dev/ttyS1", tmp_path)
    assert not no_uart("/dev/ttyACM0", tmp_path)  # the kernel says nothing: probed

    class Port:
        def __init__(self, device: str, vid: int | None = None) -> None:
            self.device, self.vid, self.pid = device, vid, 1 if vid else None
            self.serial_number, self.description = None, device

    found = list_candidates({}, usb_devices=list, comports=lambda: [
        Port("/dev/ttyS0"), Port("/dev/ttyS1"), Port("/dev/ttyACM0", 0x1234)],
        without_uart=lambda device: no_uart(device, tmp_path))
    assert sorted(c.url for c in found) == ["/dev/ttyACM0", "/dev/ttyS0"]


def test_speeds_the_uart_cannot_do_are_not_tried(tmp_path: Path) -> None:
    tty(tmp_path, "ttyS0", uartclk="1843200")
    assert fastest_speed("/dev/ttyS0", tmp_path) == 115200
    assert fastest_speed("/dev/ttyUSB0", tmp_path) is None
    atol = Fake("atol", (115200, 256000, 9600))
    tried = [speed for _d, _u, speed, _w in attempts("/dev/ttyS0", [atol], 0.3,
                                                      fastest=115200)]
    assert tried == [115200, 9600]


def test_every_usual_speed_first_then_the_others_at_the_protocols_answer_time() -> None:
    shtrih = Fake("shtrih", (115200, 57600, 9600), answer_time=0.1)
    atol = Fake("atol", (115200, 9600))
    plan = [(d.name, speed, wait) for d, _u, speed, wait in attempts("/dev/ttyS0",
                                                                     [shtrih, atol], 0.3)]
    assert plan == [("shtrih", 115200, 0.3), ("atol", 115200, 0.3),
                    ("shtrih", 57600, 0.1), ("shtrih", 9600, 0.1), ("atol", 9600, 0.3)]
    # a time-out the user gives is the wait everywhere; an answer time never lengthens one
    assert {w for *_rest, w in attempts("/dev/ttyS0", [shtrih, atol], 0.5, 0.5)} == {0.5}
    assert {w for *_rest, w in attempts("/dev/ttyS0", [shtrih], 0.05)} == {0.05}


def test_a_register_at_a_later_speed_is_still_found() -> None:
    shtrih = Fake("shtrih", (115200, 4800), answer_time=0.1)
    shtrih.found_at["/dev/ttyS9"] = 4800
    [(_c, found, error)] = probe_candidates(
        [Candidate("/dev/ttyS9", Confidence.SERIAL_PORT, None, "ttyS9")], {"shtrih": shtrih})
    assert found is not None and found.baudrate == 4800 and error is None


def test_ports_are_probed_at_the_same_time_and_reported_in_order(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(discovery, "fastest_speed", lambda device: None)
    fake = Fake("fake", (9600,))
    fake.found_at["/dev/ttyB"] = 9600
    fake.barrier = threading.Barrier(2, timeout=30)
    ports = [Candidate(url, Confidence.SERIAL_PORT, None, url) for url in ("/dev/ttyA",
                                                                           "/dev/ttyB")]
    results = probe_candidates(ports, {"fake": fake})
    assert [c.url for c, _r, _e in results] == ["/dev/ttyA", "/dev/ttyB"]
    assert results[0][1] is None and results[1][1] is not None
    assert fake.most_inside == 2


def test_two_names_of_one_port_are_asked_in_turn(tmp_path: Path) -> None:
    port = tmp_path / "ttyX"
    port.write_text("")
    link = tmp_path / "by-id-register"
    link.symlink_to(port)
    fake = Fake("fake", (9600,))
    names = [Candidate(str(p), Confidence.SERIAL_PORT, None, "x") for p in (port, link)]
    probe_candidates(names, {"fake": fake})
    assert len(fake.asked) == 2 and fake.most_inside == 1

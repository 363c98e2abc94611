"""Finding registers: list candidate ports by USB id, then ask each driver to probe them.

Nothing here speaks a vendor protocol: the USB ids come from each driver's ``usb_ids``
and the question "are you a register?" is the driver's ``probe``.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from serial.tools import list_ports

from kkt_bridge.driverapi import Driver, ProbeResult, UsbId, load_drivers
from kkt_bridge.errors import ConnectionRefusedLinkError, LinkError
from kkt_bridge.link.failures import refused_everywhere
from kkt_bridge.link.urls import LinkKind, has_speed, link_kind, with_default_port


class Confidence(enum.IntEnum):
    """How likely a candidate is a register; higher is probed first."""

    SERIAL_PORT = 1  # any serial port: a register on an RS-232 adapter looks like this
    USB_ID = 2  # the USB VID:PID is one a driver declares


@dataclass(frozen=True)
class Candidate:
    url: str  # what open_link takes: /dev/ttyACM0 or usb://1FC9:0083/123
    confidence: Confidence
    driver: str | None  # the driver whose usb_ids matched
    title: str  # the matched UsbId title, or the port's own description
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None

    @property
    def usb_id(self) -> str | None:
        if self.vid is None or self.pid is None:
            return None
        return f"{self.vid:04X}:{self.pid:04X}"


#: (vid, pid, serial_number) of a USB device seen through pyusb
UsbDevice = tuple[int, int, str | None]


def match_usb_id(drivers: Mapping[str, Driver], vid: int,
                 pid: int) -> tuple[Driver, UsbId] | None:
    for driver in drivers.values():
        for usb_id in driver.usb_ids:
            if usb_id.matches(vid, pid):
                return driver, usb_id
    return None


def pyusb_devices() -> list[UsbDevice]:
    """Every USB device pyusb sees; empty when libusb is missing."""
    try:
        import usb.core

        from kkt_bridge.link.handlers.protocol_usb import serial_number_of
    except ImportError:
        return []
    try:
        found = list(usb.core.find(find_all=True) or [])
    except (usb.core.NoBackendError, usb.core.USBError):
        return []
    # a serial number unreadable without permission is None: still a candidate
    return [(int(dev.idVendor), int(dev.idProduct), serial_number_of(dev)) for dev in found]


#: where the kernel describes each tty (Linux)
SYS_TTY = Path("/sys/class/tty")
#: ``type`` of a serial port the 8250 driver found no UART behind (PORT_UNKNOWN)
PORT_UNKNOWN = "0"


def no_uart(device: str, sys_tty: Path = SYS_TTY) -> bool:
    """The kernel says there is no UART behind ``device``: a legacy ``ttyS*`` name the 8250
    driver reserves whether or not the machine has the port (its sysfs ``type`` is 0,
    PORT_UNKNOWN, ``uart: unknown`` in /proc/tty/driver/serial). Opening such a port works
    and every probe of it waits out its whole time-out for nothing. False whenever the
    kernel does not say so (another OS, a USB tty, no sysfs): then it is probed."""
    try:
        return (sys_tty / Path(device).name / "type").read_text().strip() == PORT_UNKNOWN
    except (OSError, ValueError):
        return False


def fastest_speed(device: str, sys_tty: Path = SYS_TTY) -> int | None:
    """The fastest speed the UART behind ``device`` can be set to (its clock / 16: 115200
    for the PC's classic 1.8432 MHz 16550), None when the kernel does not say (a USB tty,
    a pty, another OS). A faster speed cannot reach a register through it."""
    try:
        clock = int((sys_tty / Path(device).name / "uartclk").read_text().strip())
    except (OSError, ValueError):
        return None
    return clock // 16 if clock > 0 else None


def list_candidates(drivers: Mapping[str, Driver] | None = None, *,
                    comports: Callable[[], Iterable[Any]] | None = None,
                    usb_devices: Callable[[], Iterable[UsbDevice]] | None = None,
                    without_uart: Callable[[str], bool] | None = None,
                    ) -> list[Candidate]:
    """Ports that may hold a register, most likely first.

    Serial ports whose USB id a driver declares come first, then every other serial port
    (a register on an RS-232 adapter), then USB devices with a declared id and no tty,
    which are reached through ``usb://``. A serial port the kernel found no UART behind
    (``without_uart``; by default :func:`no_uart` for this machine's own ports) is left
    out: nothing can be attached to it.
    """
    drivers = load_drivers() if drivers is None else drivers
    if without_uart is None:
        without_uart = no_uart if comports is None else (lambda device: False)
    ports = [port for port in (comports or list_ports.comports)()
             if getattr(port, "vid", None) is not None or not without_uart(port.device)]
    candidates: list[Candidate] = []
    with_tty: set[tuple[int, int, str | None]] = set()
    for port in ports:
        vid, pid = getattr(port, "vid", None), getattr(port, "pid", None)
        serial_number = getattr(port, "serial_number", None) or None
        match = None
        if vid is not None and pid is not None:
            match = match_usb_id(drivers, vid, pid)
            # a USB device seen without its serial number is this tty too
            with_tty.add((vid, pid, serial_number))
            with_tty.add((vid, pid, None))
        if match is not None:
            driver, usb_id = match
            candidates.append(Candidate(port.device, Confidence.USB_ID, driver.name,
                                        usb_id.title, vid, pid, serial_number))
        else:
            title = getattr(port, "description", None) or port.device
            candidates.append(Candidate(port.device, Confidence.SERIAL_PORT, None,
                                        str(title), vid, pid, serial_number))
    for vid, pid, serial_number in (usb_devices or pyusb_devices)():
        match = match_usb_id(drivers, vid, pid)
        if match is None or (vid, pid, serial_number) in with_tty:
            continue
        driver, usb_id = match
        url = f"usb://{vid:04X}:{pid:04X}" + (f"/{serial_number}" if serial_number else "")
        candidates.append(Candidate(url, Confidence.USB_ID, driver.name, usb_id.title,
                                    vid, pid, serial_number))
    candidates.sort(key=lambda c: (-c.confidence, link_kind(c.url) is LinkKind.USB, c.url))
    return candidates


def _speeds(driver: Driver, url: str) -> tuple[int | None, ...]:
    if not has_speed(url):
        return (None,)  # TCP and USB bulk have no line speed: one try is enough
    return tuple(driver.probe_speeds) or (None,)


#: a probe's question at one speed: the driver, the URL as it takes it, the speed, the wait
Attempt = tuple[Driver, str, "int | None", float]


def attempts(url: str, ordered: Iterable[Driver], timeout: float,
             sweep_timeout: float | None = None, fastest: int | None = None) -> list[Attempt]:
    """Every driver's probe of ``url`` at each of its speeds: each driver at its usual
    speed first (a register at the factory speed of either protocol is found after one
    short probe of the other), then the other speeds.

    The other speeds wait ``sweep_timeout`` when given, else the driver's own
    ``probe_answer_time`` (how soon a register of that protocol, at the speed asked,
    answers the probe's first byte) when it declares one and it is shorter: a silent port
    costs every wait of every speed of every protocol, and most of them are those.
    Speeds above ``fastest`` (what the port's UART can do, :func:`fastest_speed`) are not
    tried."""
    first: list[Attempt] = []
    later: list[Attempt] = []
    for driver in ordered:
        target = with_default_port(url, driver.default_tcp_port)
        speeds = tuple(speed for speed in _speeds(driver, target)
                       if fastest is None or speed is None or speed <= fastest)
        if not speeds:
            continue  # none of its speeds fits this UART
        first.append((driver, target, speeds[0], timeout))
        answer_time = getattr(driver, "probe_answer_time", None)
        if sweep_timeout is not None:
            wait = sweep_timeout
        elif answer_time is not None:
            wait = min(timeout, float(answer_time))
        else:
            wait = timeout
        later += [(driver, target, speed, wait) for speed in speeds[1:]]
    return first + later


def probe(url: str, drivers: Mapping[str, Driver] | None = None, *, timeout: float = 0.3,
          only: str | None = None, sweep_timeout: float | None = None) -> ProbeResult | None:
    """Ask every driver (or just ``only``) at each of its speeds what is at ``url``
    (in the order and with the waits of :func:`attempts`).

    Returns the first register found, or None when nothing answered like one. A missing,
    busy or forbidden port raises its LinkError: that is not "no register". A network
    address that turns one protocol away is still asked by the others (without a port in
    the URL each asks at its own usual port); turned away by all, it raises one error that
    names them.
    """
    drivers = load_drivers() if drivers is None else drivers
    ordered = [drivers[only]] if only is not None else list(drivers.values())
    fastest = fastest_speed(url) if url.startswith("/") else None
    refused: dict[str, tuple[Driver, str, ConnectionRefusedLinkError]] = {}
    for driver, target, speed, wait in attempts(url, ordered, timeout, sweep_timeout, fastest):
        if driver.name in refused:
            continue
        try:
            result = driver.probe(target, speed, wait)
        except ConnectionRefusedLinkError as exc:
            refused[driver.name] = (driver, target, exc)
            continue
        if result is not None:
            return result
    if len(refused) == 1:
        raise next(iter(refused.values()))[2]
    if refused:
        raise refused_everywhere(url, [(driver.title, target, driver.default_tcp_port)
                                       for driver, target, _exc in refused.values()])
    return None


#: ports probed at once: each is its own line, and most of a probe is waiting
PROBE_THREADS = 8


def probe_candidates(candidates: Iterable[Candidate],
                     drivers: Mapping[str, Driver] | None = None, *, timeout: float = 0.3,
                     sweep_timeout: float | None = None,
                     ) -> list[tuple[Candidate, ProbeResult | None, LinkError | None]]:
    """Probe each candidate, the ports at the same time (in the candidates' order in the
    result); a port that cannot be opened is reported, not fatal."""
    drivers = load_drivers() if drivers is None else drivers
    listed = list(candidates)

    def one(candidate: Candidate) -> tuple[Candidate, ProbeResult | None, LinkError | None]:
        try:
            found = probe(candidate.url, drivers, timeout=timeout, sweep_timeout=sweep_timeout,
                          only=candidate.driver if candidate.driver in drivers else None)
        except LinkError as exc:
            return candidate, None, exc
        return candidate, found, None

    def in_turn(group: list[Candidate]) -> list[tuple[Candidate, ProbeResult | None,
                                                      LinkError | None]]:
        return [one(candidate) for candidate in group]

    # two names of one port (a --device symlink and its tty) are asked in turn: at the
    # same time one of them would find the port busy
    groups: dict[str, list[Candidate]] = {}
    for candidate in listed:
        url = candidate.url
        groups.setdefault(os.path.realpath(url) if url.startswith("/") else url,
                          []).append(candidate)
    if len(groups) <= 1:
        done = [in_turn(group) for group in groups.values()]
    else:
        with ThreadPoolExecutor(max_workers=min(PROBE_THREADS, len(groups)),
                                thread_name_prefix="probe") as pool:
            done = list(pool.map(in_turn, groups.values()))
    results = {id(candidate): (candidate, found, error)
               for group in done for candidate, found, error in group}
    return [results[id(candidate)] for candidate in listed]

"""Finding registers: list candidate ports by USB id, then ask each driver to probe them.

Nothing here speaks a vendor protocol: the USB ids come from each driver's ``usb_ids``
and the question "are you a register?" is the driver's ``probe``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from serial.tools import list_ports

from kkt_bridge.driverapi import Driver, ProbeResult, UsbId, load_drivers
from kkt_bridge.errors import LinkError
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


def list_candidates(drivers: Mapping[str, Driver] | None = None, *,
                    comports: Callable[[], Iterable[Any]] | None = None,
                    usb_devices: Callable[[], Iterable[UsbDevice]] | None = None,
                    ) -> list[Candidate]:
    """Ports that may hold a register, most likely first.

    Serial ports whose USB id a driver declares come first, then every other serial port
    (a register on an RS-232 adapter), then USB devices with a declared id and no tty,
    which are reached through ``usb://``.
    """
    drivers = load_drivers() if drivers is None else drivers
    ports = list((comports or list_ports.comports)())
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


def probe(url: str, drivers: Mapping[str, Driver] | None = None, *, timeout: float = 0.3,
          only: str | None = None) -> ProbeResult | None:
    """Ask every driver (or just ``only``) at each of its speeds what is at ``url``.

    Returns the first register found, or None when nothing answered like one. A missing,
    busy or forbidden port raises its LinkError: that is not "no register".
    """
    drivers = load_drivers() if drivers is None else drivers
    ordered = [drivers[only]] if only is not None else list(drivers.values())
    for driver in ordered:
        target = with_default_port(url, driver.default_tcp_port)
        for speed in _speeds(driver, target):
            result = driver.probe(target, speed, timeout)
            if result is not None:
                return result
    return None


def probe_candidates(candidates: Iterable[Candidate],
                     drivers: Mapping[str, Driver] | None = None, *, timeout: float = 0.3,
                     ) -> list[tuple[Candidate, ProbeResult | None, LinkError | None]]:
    """Probe each candidate; a port that cannot be opened is reported, not fatal."""
    drivers = load_drivers() if drivers is None else drivers
    results: list[tuple[Candidate, ProbeResult | None, LinkError | None]] = []
    for candidate in candidates:
        try:
            found = probe(candidate.url, drivers, timeout=timeout, only=(
                candidate.driver if candidate.driver in drivers else None))
        except LinkError as exc:
            results.append((candidate, None, exc))
        else:
            results.append((candidate, found, None))
    return results

"""Hot-plug: notice a register's port appearing or disappearing.

With pyudev importable (Linux), udev's netlink events arrive as they happen; otherwise
``serial.tools.list_ports`` is polled and the snapshots compared. Either way the daemon
gets :class:`PortEvent` s through one callback. Waiting is injectable (``wait``) so tests
drive the loop without sleeping; by default it waits on ``stop`` so stopping is immediate.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from serial.tools import list_ports


class PortAction(enum.Enum):
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class PortInfo:
    device: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None


@dataclass(frozen=True)
class PortEvent:
    action: PortAction
    port: PortInfo

    @property
    def device(self) -> str:
        return self.port.device


def _info(port: Any) -> PortInfo:
    return PortInfo(str(port.device), getattr(port, "vid", None), getattr(port, "pid", None),
                    getattr(port, "serial_number", None) or None)


class PortPoller:
    """Compares successive port listings; ``poll()`` returns what changed since the last."""

    def __init__(self, list_fn: Callable[[], Iterable[Any]] | None = None, *,
                 report_existing: bool = False) -> None:
        self._list = list_fn or list_ports.comports
        self._known: dict[str, PortInfo] = {}
        if not report_existing:
            self._known = self._snapshot()

    def _snapshot(self) -> dict[str, PortInfo]:
        return {info.device: info for info in map(_info, self._list())}

    @property
    def ports(self) -> list[PortInfo]:
        return sorted(self._known.values(), key=lambda p: p.device)

    def poll(self) -> list[PortEvent]:
        now = self._snapshot()
        events = [PortEvent(PortAction.REMOVED, info)
                  for dev, info in sorted(self._known.items()) if now.get(dev) != info]
        events += [PortEvent(PortAction.ADDED, info)
                   for dev, info in sorted(now.items()) if self._known.get(dev) != info]
        self._known = now
        return events


def _pyudev() -> Any | None:
    try:
        import pyudev  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError:
        return None
    return pyudev


def _udev_event(device: Any) -> PortEvent | None:
    node = getattr(device, "device_node", None)
    action = {"add": PortAction.ADDED, "remove": PortAction.REMOVED}.get(
        getattr(device, "action", None) or "")
    if node is None or action is None:
        return None  # "change", "bind" ... say nothing about presence
    props = getattr(device, "properties", {}) or {}

    def hex_prop(name: str) -> int | None:
        try:
            return int(props.get(name, ""), 16)
        except (TypeError, ValueError):
            return None

    return PortEvent(action, PortInfo(str(node), hex_prop("ID_VENDOR_ID"),
                                      hex_prop("ID_MODEL_ID"),
                                      props.get("ID_SERIAL_SHORT") or None))


def watch_ports(callback: Callable[[PortEvent], None], interval: float = 1.0, *,
                stop: threading.Event | None = None,
                wait: Callable[[float], bool] | None = None,
                list_fn: Callable[[], Iterable[Any]] | None = None,
                backend: str = "auto", report_existing: bool = False) -> None:
    """Call ``callback`` for each port added or removed until ``stop`` is set.

    ``backend``: "auto" (pyudev when importable), "pyudev" or "poll". ``wait(seconds)``
    waits between polls and returns True to stop (default: ``stop.wait``). With pyudev,
    ``interval`` bounds how long one netlink poll blocks, so ``stop`` is seen in time.
    """
    stop = stop or threading.Event()
    wait = wait or stop.wait
    pyudev = _pyudev() if backend in ("auto", "pyudev") else None
    if backend == "pyudev" and pyudev is None:
        raise ImportError("pyudev is not installed")
    if pyudev is not None:
        _watch_udev(pyudev, callback, interval, stop, wait, list_fn, report_existing)
        return
    poller = PortPoller(list_fn, report_existing=report_existing)
    while not stop.is_set():
        for event in poller.poll():
            callback(event)
        if wait(interval):
            break


def _watch_udev(pyudev: Any, callback: Callable[[PortEvent], None], interval: float,
                stop: threading.Event, wait: Callable[[float], bool],
                list_fn: Callable[[], Iterable[Any]] | None, report_existing: bool) -> None:
    monitor = pyudev.Monitor.from_netlink(pyudev.Context())
    monitor.filter_by(subsystem="tty")
    monitor.start()
    if report_existing:
        for existing in PortPoller(list_fn, report_existing=True).poll():
            callback(existing)
    while not stop.is_set():
        device = monitor.poll(timeout=interval)
        if device is None:
            if wait(0):
                break
            continue
        event = _udev_event(device)
        if event is not None:
            callback(event)

from __future__ import annotations

import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import pytest

from kkt_bridge.link.hotplug import (
    PortAction,
    PortEvent,
    PortInfo,
    PortPoller,
    watch_ports,
)


@dataclass
class Port:
    device: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None


class Script:
    """Successive port listings, one per poll; the last one repeats."""

    def __init__(self, *listings: list[Port]) -> None:
        self.listings = deque(listings)

    def __call__(self) -> list[Port]:
        if len(self.listings) > 1:
            return self.listings.popleft()
        return self.listings[0]


def stop_after(polls: int) -> Any:
    calls = {"n": 0}
    waits: list[float] = []

    def wait(seconds: float) -> bool:
        waits.append(seconds)
        calls["n"] += 1
        return calls["n"] >= polls

    wait.waits = waits  # type: ignore[attr-defined]
    return wait


ACM0 = Port("/dev/ttyACM0", 0x1FC9, 0x0083, "0042")
ACM1 = Port("/dev/ttyACM1", 0x2912, 0x0005, "77")


def test_poller_reports_added_and_removed() -> None:
    poller = PortPoller(Script([ACM0], [ACM0, ACM1], [ACM1], [ACM1]))
    assert [p.device for p in poller.ports] == ["/dev/ttyACM0"]
    assert poller.poll() == [PortEvent(PortAction.ADDED,
                                       PortInfo("/dev/ttyACM1", 0x2912, 0x0005, "77"))]
    [removed] = poller.poll()
    assert removed.action is PortAction.REMOVED and removed.device == "/dev/ttyACM0"
    assert poller.poll() == []


def test_same_node_with_another_register_is_removed_then_added() -> None:
    other = Port("/dev/ttyACM0", 0x1FC9, 0x0083, "0099")
    poller = PortPoller(Script([ACM0], [other]))
    events = poller.poll()
    assert [(e.action, e.port.serial_number) for e in events] == [
        (PortAction.REMOVED, "0042"), (PortAction.ADDED, "0099")]


def test_report_existing() -> None:
    poller = PortPoller(Script([ACM0]), report_existing=True)
    assert [e.action for e in poller.poll()] == [PortAction.ADDED]


def test_watch_ports_polls_until_wait_says_stop() -> None:
    seen: list[PortEvent] = []
    wait = stop_after(3)
    watch_ports(seen.append, 2.5, wait=wait, backend="poll",
                list_fn=Script([], [ACM0], [ACM0], []))
    assert [(e.action, e.device) for e in seen] == [
        (PortAction.ADDED, "/dev/ttyACM0"), (PortAction.REMOVED, "/dev/ttyACM0")]
    assert wait.waits == [2.5, 2.5, 2.5]


def test_watch_ports_returns_at_once_when_stopped() -> None:
    stop = threading.Event()
    stop.set()
    seen: list[PortEvent] = []
    watch_ports(seen.append, 60, stop=stop, backend="poll", list_fn=Script([ACM0]))
    assert seen == []


def test_stop_from_callback_thread_ends_the_default_wait() -> None:
    stop = threading.Event()

    def on_event(event: PortEvent) -> None:
        stop.set()  # the daemon decides to shut down while handling an event

    watch_ports(on_event, 30, stop=stop, backend="poll", list_fn=Script([ACM0]),
                report_existing=True)
    assert stop.is_set()


# --- pyudev, faked (it is optional and absent in CI) ----------------------------------------


@dataclass
class FakeUdevDevice:
    action: str
    device_node: str | None
    properties: dict[str, str] = field(default_factory=dict)


class FakeMonitor:
    def __init__(self, events: list[FakeUdevDevice | None]) -> None:
        self.events = deque(events)
        self.filters: list[dict[str, str]] = []
        self.started = False
        self.timeouts: list[float] = []

    def filter_by(self, **kwargs: str) -> None:
        self.filters.append(kwargs)

    def start(self) -> None:
        self.started = True

    def poll(self, timeout: float) -> FakeUdevDevice | None:
        self.timeouts.append(timeout)
        return self.events.popleft() if self.events else None


@pytest.fixture
def fake_pyudev(monkeypatch: pytest.MonkeyPatch) -> FakeMonitor:
    monitor = FakeMonitor([
        FakeUdevDevice("add", "/dev/ttyACM0", {"ID_VENDOR_ID": "1fc9", "ID_MODEL_ID": "0083",
                                               "ID_SERIAL_SHORT": "0042"}),
        FakeUdevDevice("change", "/dev/ttyACM0"),
        FakeUdevDevice("add", None),
        FakeUdevDevice("remove", "/dev/ttyACM0", {"ID_VENDOR_ID": "zz"}),
        None,
    ])

    class Monitor:
        @staticmethod
        def from_netlink(context: object) -> FakeMonitor:
            return monitor

    module = type(sys)("pyudev")
    module.Context = object  # type: ignore[attr-defined]
    module.Monitor = Monitor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "pyudev", module)
    return monitor


def test_pyudev_events(fake_pyudev: FakeMonitor) -> None:
    seen: list[PortEvent] = []
    watch_ports(seen.append, 0.5, wait=stop_after(1))
    assert fake_pyudev.started and fake_pyudev.filters == [{"subsystem": "tty"}]
    assert seen == [
        PortEvent(PortAction.ADDED, PortInfo("/dev/ttyACM0", 0x1FC9, 0x0083, "0042")),
        PortEvent(PortAction.REMOVED, PortInfo("/dev/ttyACM0", None, None, None)),
    ]
    assert set(fake_pyudev.timeouts) == {0.5}


def test_pyudev_backend_required_but_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pyudev", None)  # import raises ImportError
    with pytest.raises(ImportError):
        watch_ports(lambda e: None, backend="pyudev")
    seen: list[PortEvent] = []
    watch_ports(seen.append, 1, wait=stop_after(2), list_fn=Script([], [ACM1]))
    assert [e.device for e in seen] == ["/dev/ttyACM1"]  # auto fell back to polling


def test_pyudev_reports_existing_ports_first(fake_pyudev: FakeMonitor) -> None:
    seen: list[PortEvent] = []
    watch_ports(seen.append, 0.5, wait=stop_after(1), list_fn=Script([ACM1]),
                report_existing=True)
    assert seen[0] == PortEvent(PortAction.ADDED,
                                PortInfo("/dev/ttyACM1", 0x2912, 0x0005, "77"))
    assert [e.action for e in seen[1:]] == [PortAction.ADDED, PortAction.REMOVED]

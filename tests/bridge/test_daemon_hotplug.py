"""The daemon and hot-plug: unplugged registers are left alone, re-plugged ones resume
from the export cursor (no loss, no duplicate), and every change is reported; metrics."""

from __future__ import annotations

import random
import urllib.request
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt, fake_decoder

from kkt_bridge.bridge.clock import FakeClock
from kkt_bridge.bridge.daemon import Daemon
from kkt_bridge.bridge.jobs import DOCUMENTS
from kkt_bridge.bridge.pairing import pair
from kkt_bridge.bridge.presence import LinkChange, PortPresence, device_path
from kkt_bridge.errors import BackOfficeUnavailableError, LinkError, PortNotFoundError
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.kkt import Kkt
from kkt_bridge.link.hotplug import PortAction, PortEvent, PortInfo, PortPoller
from kkt_bridge.metrics import (
    EXPORTED,
    HOTPLUG_EVENTS,
    JOB_FAILURES,
    LAST_SUCCESS,
    LINK_ERRORS,
    OFD_UNSENT,
    OUTBOX,
    PRESENT,
    UNSENT,
    Metrics,
)
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.store import Store


@dataclass(frozen=True)
class Port:
    device: str


class Bench:
    """A /dev in tmp_path: kernel nodes, udev's /dev/kkt symlink, and the port listing."""

    def __init__(self, root: Path) -> None:
        self.dev = root / "dev"
        (self.dev / "kkt").mkdir(parents=True)
        self.link = self.dev / "kkt" / "shtrih-0001"
        self.ports: list[str] = []

    def plug(self, node: str = "ttyACM0", *, symlink: bool = True) -> str:
        path = self.dev / node
        path.touch()
        self.ports = [str(path)]
        if symlink:
            self.link.unlink(missing_ok=True)
            self.link.symlink_to(path)
        return str(path)

    def unplug(self) -> None:
        for port in self.ports:
            Path(port).unlink()
        self.ports = []
        self.link.unlink(missing_ok=True)

    def listing(self) -> list[Port]:
        return [Port(p) for p in self.ports]


@pytest.fixture
def bench(tmp_path: Path) -> Bench:
    return Bench(tmp_path)


def event(action: PortAction, device: str) -> PortEvent:
    return PortEvent(action, PortInfo(device))


# --- matching URLs to port events ------------------------------------------------------


def test_device_path_only_for_serial_nodes() -> None:
    assert device_path("/dev/kkt/shtrih-1") == "/dev/kkt/shtrih-1"
    assert device_path("/dev/ttyACM0") == "/dev/ttyACM0"
    assert device_path("/dev/pts/3") is None
    assert device_path("socket://127.0.0.1:7778") is None
    assert device_path("usb://1fc9:0083") is None


def test_symlink_url_follows_its_register_across_nodes(bench: Bench) -> None:
    acm0 = bench.plug("ttyACM0")
    url = str(bench.link)
    presence = PortPresence([url], list_fn=bench.listing)
    assert presence.watched == [url] and presence.is_present(url)
    assert presence.node(url) == acm0
    bench.unplug()
    assert presence.handle(event(PortAction.REMOVED, acm0)) == [LinkChange(url, False, acm0)]
    assert not presence.is_present(url)
    acm1 = bench.plug("ttyACM1")  # re-enumerated under another name
    assert presence.handle(event(PortAction.ADDED, acm1)) == [LinkChange(url, True, acm1)]
    assert presence.handle(event(PortAction.ADDED, acm1)) == []  # said once


def test_plain_node_url(bench: Bench) -> None:
    acm0 = bench.plug("ttyACM0", symlink=False)
    presence = PortPresence([acm0], list_fn=bench.listing)
    assert presence.watched == [acm0]
    assert presence.handle(event(PortAction.REMOVED, acm0)) == [LinkChange(acm0, False, acm0)]
    assert presence.handle(event(PortAction.ADDED, acm0)) == [LinkChange(acm0, True, acm0)]


def test_node_announced_before_udev_made_the_symlink(bench: Bench) -> None:
    bench.plug()
    url = str(bench.link)
    presence = PortPresence([url], list_fn=bench.listing)
    bench.unplug()
    presence.handle(event(PortAction.REMOVED, str(bench.dev / "ttyACM0")))
    node = bench.plug("ttyACM0", symlink=False)
    assert presence.handle(event(PortAction.ADDED, node)) == []
    bench.link.symlink_to(node)
    assert presence.refresh() == [LinkChange(url, True, node)]


def test_other_ports_do_not_matter(bench: Bench) -> None:
    bench.plug()
    url = str(bench.link)
    presence = PortPresence([url], list_fn=bench.listing)
    assert presence.handle(event(PortAction.REMOVED, "/dev/ttyUSB7")) == []
    assert presence.handle(event(PortAction.ADDED, "/dev/ttyUSB8")) == []
    assert presence.is_present(url)


def test_unlisted_nodes_and_network_links_are_not_watched(bench: Bench, tmp_path: Path) -> None:
    existing = tmp_path / "pty-like"
    existing.touch()
    urls = [str(existing), "socket://127.0.0.1:1", "/dev/pts/9", str(bench.link)]
    presence = PortPresence(urls, list_fn=list)
    # the symlink does not exist: a register that is simply not plugged in yet
    assert presence.watched == [str(bench.link)] and not presence.is_present(str(bench.link))
    assert all(presence.is_present(url) for url in urls[:3])


def test_nothing_watched_lists_no_ports() -> None:
    def boom() -> list[Port]:
        raise AssertionError("listed ports for a network link")

    assert PortPresence(["socket://127.0.0.1:1"], list_fn=boom).watched == []


# --- the daemon --------------------------------------------------------------------------


class LinkListener:
    def __init__(self) -> None:
        self.changes: list[tuple[str, bool, str | None]] = []

    @hookimpl
    def kkt_link_changed(self, url: str, present: bool, register_key: str | None) -> None:
        self.changes.append((url, present, register_key))


class Cable:
    """Opens the FakeKkt only while its node exists, as a serial port would."""

    def __init__(self, kkt: FakeKkt, bench: Bench) -> None:
        self.kkt = kkt
        self.bench = bench
        self.opens = 0

    def __call__(self, url: str) -> Kkt:
        self.opens += 1
        if not Path(url).exists():
            raise PortNotFoundError(f"порт {url} не найден", "подключите ККТ")
        return self.kkt  # type: ignore[return-value]


@pytest.fixture
def hooks() -> LinkListener:
    return LinkListener()


def make_daemon(store: Store, backoffice: FakeBackOffice, hooks: LinkListener, kkt: FakeKkt,
                bench: Bench, clock: FakeClock, metrics: Metrics,
                changes: list[LinkChange], **options: object) -> tuple[Daemon, Cable]:
    pm = get_plugin_manager(load_entrypoints=False, plugins=[backoffice, hooks])
    pair(store, pm, kkt, plugin="fake", code="123456", device_url=str(bench.link))
    cable = Cable(kkt, bench)
    daemon = Daemon(store, pm, [str(bench.link)], opener=cable, clock=clock,
                    rng=random.Random(3), decoder=fake_decoder, list_ports=bench.listing,
                    metrics=metrics, on_link_change=changes.append,
                    **{"hotplug": "poll", **options})  # type: ignore[arg-type]
    return daemon, cable


class Ports:
    """The polling backend, one poll at a time: what the hot-plug thread feeds the daemon."""

    def __init__(self, daemon: Daemon, bench: Bench) -> None:
        self.daemon = daemon
        self.poller = PortPoller(bench.listing)

    def poll(self) -> None:
        for change in self.poller.poll():
            self.daemon.handle_port_event(change)


def test_unplug_and_replug_resume_from_the_cursor_exactly_once(
        store: Store, backoffice: FakeBackOffice, hooks: LinkListener, kkt: FakeKkt,
        bench: Bench, clock: FakeClock, tmp_path: Path) -> None:
    bench.plug()
    url = str(bench.link)
    metrics = Metrics()
    changes: list[LinkChange] = []
    textfile = tmp_path / "textfile" / "kkt_bridge.prom"
    daemon, cable = make_daemon(store, backoffice, hooks, kkt, bench, clock, metrics, changes,
                                metrics_file=textfile)
    key = kkt.identity().key
    kkt.sell()
    kkt.sell()
    ports = Ports(daemon, bench)
    (link,) = daemon.links
    daemon.tick(link)
    assert store.get_cursor(kkt.fn_number or "") == 3
    assert metrics.get(EXPORTED, register=key) == 3
    assert metrics.get(PRESENT, device=url) == 1

    # the cable is pulled mid-batch: the read fails, nothing is sent, the cursor stays
    kkt.sell()
    kkt.sell()
    kkt.fail_reads.add(5)
    clock.advance(3600)
    (outcome,) = [o for o in daemon.tick(link) if o.job == DOCUMENTS]
    assert not outcome.ok and store.get_cursor(kkt.fn_number or "") == 3
    assert metrics.get(LINK_ERRORS, device=url) == 1
    assert metrics.get(JOB_FAILURES, register=key, job=DOCUMENTS) == 1
    bench.unplug()
    ports.poll()
    assert changes == [LinkChange(url, False, str(bench.dev / "ttyACM0"))]
    assert hooks.changes == [(url, False, key)]
    assert store.events(key)[-1].kind == "unplugged"
    assert metrics.get(PRESENT, device=url) == 0
    assert metrics.get(HOTPLUG_EVENTS, device=url, action="removed") == 1

    # while unplugged the worker does not even try the port
    opens = cable.opens
    clock.advance(1)  # the retry after the failure is not due yet
    assert daemon.tick(link) == []
    assert cable.opens == opens
    kkt.sell()  # the cashier goes on selling offline

    acm1 = bench.plug("ttyACM1")
    ports.poll()
    assert changes[-1] == LinkChange(url, True, acm1)
    assert hooks.changes[-1] == (url, True, key)
    plugged = store.events(key)[-1]
    assert plugged.kind == "plugged" and plugged.data["node"] == acm1
    assert store.get_job_run(key, DOCUMENTS).next_run_at == clock.now()  # due at once, not
    # after the backoff
    outcomes = daemon.tick(link)
    assert [o.ok for o in outcomes if o.job == DOCUMENTS] == [True]
    assert store.get_cursor(kkt.fn_number or "") == 6
    assert sorted(backoffice.stored) == [f"{kkt.fn_number}:{fd}" for fd in range(1, 7)]
    assert max(Counter(backoffice.received).values()) == 1  # nothing sent twice
    assert metrics.get(EXPORTED, register=key) == 6
    assert metrics.get(UNSENT, register=key) == 0
    assert metrics.get(OUTBOX, register=key) == 0
    assert metrics.get(OFD_UNSENT, register=key) == 0
    assert metrics.get(LAST_SUCCESS, register=key, job=DOCUMENTS) == clock.now()
    text = textfile.read_text(encoding="utf-8")
    assert f'kkt_bridge_documents_exported_total{{register="{key}"}} 6' in text
    assert f'kkt_bridge_link_errors_total{{device="{url}"}} 1' in text
    assert "# TYPE kkt_bridge_job_failures_total counter" in text
    assert "# TYPE kkt_bridge_hotplug_events_total counter" in text
    assert f'kkt_bridge_register_present{{device="{url}"}} 1' in text


def test_unsent_counts_what_the_back_office_has_not_acknowledged(
        store: Store, backoffice: FakeBackOffice, hooks: LinkListener, kkt: FakeKkt,
        bench: Bench, clock: FakeClock) -> None:
    bench.plug()
    metrics = Metrics()
    daemon, _ = make_daemon(store, backoffice, hooks, kkt, bench, clock, metrics, [])
    key = kkt.identity().key
    for _sale in range(4):
        kkt.sell()
    backoffice.export_failures.append(BackOfficeUnavailableError("нет связи", "позже"))
    daemon.tick(daemon.links[0])
    assert metrics.get(UNSENT, register=key) == 5  # registration + 4 sales
    assert metrics.get(OUTBOX, register=key) == 5  # read, stored, not acknowledged
    assert metrics.get(EXPORTED, register=key) is None
    assert metrics.get(LINK_ERRORS, device=str(bench.link)) is None  # not the link's fault


def test_plugged_in_wakes_the_sleeping_worker(
        store: Store, backoffice: FakeBackOffice, hooks: LinkListener, kkt: FakeKkt,
        bench: Bench, clock: FakeClock) -> None:
    bench.plug()
    bench.unplug()
    changes: list[LinkChange] = []
    daemon, _ = make_daemon(store, backoffice, hooks, kkt, bench, clock, Metrics(), changes)
    assert not daemon.present(str(bench.link))  # started with the register unplugged
    wake = daemon._wake[str(bench.link)]
    bench.plug()
    # one pass of the hot-plug thread's loop (polling backend), ended by its wait
    daemon.watch_hotplug(wait=lambda seconds: True)
    assert [c.present for c in changes] == [True] and wake.is_set()


def test_link_errors_counted_when_opening_fails(
        store: Store, backoffice: FakeBackOffice, hooks: LinkListener, kkt: FakeKkt,
        bench: Bench, clock: FakeClock) -> None:
    bench.plug()
    metrics = Metrics()
    daemon, _ = make_daemon(store, backoffice, hooks, kkt, bench, clock, metrics, [],
                            hotplug="off")
    bench.unplug()  # with hot-plug off the daemon only learns it from the link
    assert daemon.tick(daemon.links[0]) == []
    assert metrics.get(LINK_ERRORS, device=str(bench.link)) == 1
    with pytest.raises(LinkError):
        daemon.links[0].kkt()
    assert metrics.get(LINK_ERRORS, device=str(bench.link)) == 2


def test_metrics_served_over_http(
        store: Store, backoffice: FakeBackOffice, hooks: LinkListener, kkt: FakeKkt,
        bench: Bench, clock: FakeClock) -> None:
    bench.plug()
    metrics = Metrics()
    daemon, _ = make_daemon(store, backoffice, hooks, kkt, bench, clock, metrics, [])
    daemon.tick(daemon.links[0])
    server = metrics.serve("127.0.0.1", 0)
    try:
        port = server.server_address[1]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            body = answer.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    key = kkt.identity().key
    assert f'kkt_bridge_documents_unsent{{register="{key}"}} 0' in body
    assert f'kkt_bridge_last_success_timestamp_seconds{{job="documents",register="{key}"}}' in body


def test_unknown_hotplug_backend_is_refused(store: Store, backoffice: FakeBackOffice) -> None:
    pm = get_plugin_manager(load_entrypoints=False, plugins=[backoffice])
    with pytest.raises(ValueError):
        Daemon(store, pm, ["fake://1"], hotplug="sometimes")

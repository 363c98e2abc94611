"""``kkt-bridge run``: the watcher and the scheduler for one or several registers.

One worker thread per register link: it polls the register (the watcher), runs the jobs that
are due (the scheduler), and waits for the earlier of the next due job and the next poll.
``stop()`` (SIGTERM) lets the job in hand finish its current step (an export batch is sent
and acknowledged, or rolled back with the store transaction) and ends the workers.

Hot-plug: a link whose URL is a serial node is watched (:mod:`kkt_bridge.link.hotplug`,
pyudev or polling). While unplugged its worker leaves it alone; plugged back, the worker
wakes and the receipts job runs at once. Nothing is lost or sent twice: the export cursor
is in the store, so the export goes on from the cursor's next ФД.

Metrics (:mod:`kkt_bridge.metrics`) are updated after every round and, when asked, written
to a textfile for node_exporter.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from kkt_bridge.bridge.clock import Clock, SystemClock
from kkt_bridge.bridge.export import DEFAULT_BATCH, Decoder, fns_decoder
from kkt_bridge.bridge.jobs import DOCUMENTS
from kkt_bridge.bridge.presence import LinkChange, PortPresence
from kkt_bridge.bridge.scheduler import JobOutcome, RegisterLink, Scheduler
from kkt_bridge.bridge.watcher import Prompt, Watcher
from kkt_bridge.errors import KktBridgeError, LinkError
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.link.hotplug import PortEvent, watch_ports
from kkt_bridge.logs import register_secret
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
from kkt_bridge.pluginmanager import BackOfficePluginManager, notify
from kkt_bridge.registers import open_register
from kkt_bridge.store import Store

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_HOTPLUG_INTERVAL = 1.0
#: "auto" (pyudev when importable, else polling), "pyudev", "poll", or "off"
HOTPLUG_BACKENDS = ("auto", "pyudev", "poll", "off")


def paired_urls(store: Store) -> list[str]:
    """Device URLs of every paired register (``kkt-bridge run`` with no ``--device``)."""
    urls: list[str] = []
    for pairing in store.pairings():
        record = store.get_register(pairing.register_key)
        if record and record.device_url and record.device_url not in urls:
            urls.append(record.device_url)
    return urls


class _CountingKkt:
    """A register whose link errors are counted (every method, and while iterating)."""

    def __init__(self, kkt: Kkt, on_link_error: Callable[[], None]) -> None:
        self._kkt = kkt
        self._on_link_error = on_link_error

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._kkt, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                result = attr(*args, **kwargs)
            except LinkError:
                self._on_link_error()
                raise
            if isinstance(result, Iterator):
                return self._iterate(result)
            return result

        return call

    def _iterate(self, items: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from items
        except LinkError:
            self._on_link_error()
            raise


class Daemon:
    def __init__(self, store: Store, pm: BackOfficePluginManager, urls: Sequence[str], *,
                 opener: Callable[[str], Kkt] = open_register, clock: Clock | None = None,
                 rng: random.Random | None = None, decoder: Decoder = fns_decoder,
                 batch_size: int = DEFAULT_BATCH,
                 poll_interval: float = DEFAULT_POLL_INTERVAL,
                 on_prompt: Callable[[Prompt], None] | None = None,
                 hotplug: str = "auto",
                 hotplug_interval: float = DEFAULT_HOTPLUG_INTERVAL,
                 list_ports: Callable[[], Iterable[Any]] | None = None,
                 on_link_change: Callable[[LinkChange], None] | None = None,
                 metrics: Metrics | None = None,
                 metrics_file: Path | None = None) -> None:
        if hotplug not in HOTPLUG_BACKENDS:
            raise ValueError(f"hotplug must be one of {HOTPLUG_BACKENDS}")
        self.store = store
        self.pm = pm
        self.clock = clock or SystemClock()
        self.stop_event = threading.Event()
        self.poll_interval = poll_interval
        # a private registry unless the caller shares one: tests and several daemons in one
        # process must not add up each other's counters
        self.metrics = metrics if metrics is not None else Metrics()
        self.metrics_file = metrics_file
        self._metrics_lock = threading.Lock()
        self.links = [RegisterLink(url, self._counting(url, opener), store.lock_dir)
                      for url in urls]
        self._wake = {link.url: threading.Event() for link in self.links}
        self.scheduler = Scheduler(store, pm, clock=self.clock, rng=rng, decoder=decoder,
                                   batch_size=batch_size, stop=self.stop_event)
        self.watcher = Watcher(store, pm, on_prompt=on_prompt)
        self.hotplug = hotplug
        self.hotplug_interval = hotplug_interval
        self._list_ports = list_ports
        self.on_link_change = on_link_change
        self.presence: PortPresence | None = None
        if hotplug != "off":
            self.presence = PortPresence(urls, list_fn=list_ports)
            for url in self.presence.watched:
                self.metrics.set(PRESENT, int(self.presence.is_present(url)), device=url)
        for pairing in store.pairings():
            register_secret(pairing.credentials.token)

    def _counting(self, url: str, opener: Callable[[str], Kkt]) -> Callable[[str], Kkt]:
        def count() -> None:
            self.metrics.inc(LINK_ERRORS, device=url)

        def open_counted(link_url: str) -> Kkt:
            try:
                kkt = opener(link_url)
            except LinkError:
                count()
                raise
            return _CountingKkt(kkt, count)  # type: ignore[return-value]

        return open_counted

    def stop(self) -> None:
        self.stop_event.set()
        for wake in self._wake.values():
            wake.set()

    # --- hot-plug -------------------------------------------------------------------

    def present(self, url: str) -> bool:
        return self.presence is None or self.presence.is_present(url)

    def handle_port_event(self, event: PortEvent) -> list[LinkChange]:
        """A port appeared or vanished (from :func:`watch_ports`); report what it meant."""
        if self.presence is None:
            return []
        changes = self.presence.handle(event)
        for change in changes:
            self._report(change)
        return changes

    def refresh_presence(self) -> list[LinkChange]:
        """Resolve the watched URLs again (a symlink udev made after the node appeared)."""
        if self.presence is None:
            return []
        changes = self.presence.refresh()
        for change in changes:
            self._report(change)
        return changes

    def _register_key(self, url: str) -> str | None:
        seen = self.watcher.last(url)
        if seen is not None:
            return seen.key
        for record in self.store.registers():
            if record.device_url == url and self.store.get_pairing(record.register_key):
                return record.register_key
        return None

    def _report(self, change: LinkChange) -> None:
        key = self._register_key(change.url)
        if change.present:
            message = _("ККТ подключена: {url} ({node})").format(url=change.url,
                                                                  node=change.node)
            log.info("register plugged in at %s (%s)", change.url, change.node)
        else:
            message = _("ККТ отключена: {url}").format(url=change.url)
            log.warning("register unplugged from %s (%s)", change.url, change.node)
        self.store.log_event(key, "plugged" if change.present else "unplugged", message,
                             url=change.url, node=change.node)
        self.metrics.set(PRESENT, int(change.present), device=change.url)
        self.metrics.inc(HOTPLUG_EVENTS, device=change.url,
                         action="added" if change.present else "removed")
        notify(self.pm, "kkt_link_changed", url=change.url, present=change.present,
               register_key=key)
        if self.on_link_change is not None:
            self.on_link_change(change)
        if change.present:
            if key is not None and self.store.get_pairing(key) is not None:
                self._export_now(key)
            wake = self._wake.get(change.url)
            if wake is not None:
                wake.set()

    def _export_now(self, key: str) -> None:
        """Receipts made while the cable was out go out as soon as it is back."""
        run = self.store.get_job_run(key, DOCUMENTS)
        now = self.clock.now()
        if run.next_run_at is None or run.next_run_at > now:
            self.store.save_job_run(replace(run, next_run_at=now))

    def watch_hotplug(self, wait: Callable[[float], bool] | None = None) -> None:
        """Feed port events to :meth:`handle_port_event` until :meth:`stop` (a thread)."""
        if self.presence is None or not self.presence.watched:
            return

        def handle(event: PortEvent) -> None:
            self.handle_port_event(event)

        try:
            watch_ports(handle, self.hotplug_interval, stop=self.stop_event,
                        wait=wait, list_fn=self._list_ports, backend=self.hotplug,
                        report_existing=True)
        except Exception:  # hot-plug is a convenience: without it link errors still tell
            log.exception("hot-plug watching stopped")

    # --- rounds ---------------------------------------------------------------------

    def tick(self, link: RegisterLink) -> list[JobOutcome]:
        """One round for one link: look at the register, then run what is due.

        The port is closed again at the end of the round, so ``kkt-bridge sync now`` (or a
        service tool) can open it between rounds; the link lock keeps them from meeting."""
        self.refresh_presence()
        if not self.present(link.url):
            return []  # unplugged: the plug-in event wakes this worker
        if not link.lock.acquire(blocking=False):
            return []  # a `sync now` holds it: look again next round
        outcomes: list[JobOutcome] = []
        key: str | None = None
        try:
            observation = self.watcher.poll(link)
            if observation is None or not observation.registered:
                return []
            key = observation.key
            if self.store.get_pairing(key) is None:
                # a new ФН not yet paired: the replaced ФН's documents still go out under
                # its own pairing, so nothing waits for the user to pair again
                outcomes = self._drain_replaced(link, observation.identity.serial, key)
                return outcomes
            self._ofd_metric(link, key)
            outcomes = self.scheduler.run_jobs(link, key, self.scheduler.due(key))
            log.debug("round on %s: %s", link.url,
                      ", ".join(f"{o.job} {'ok' if o.ok else 'failed'}" for o in outcomes)
                      or "nothing due")
            return outcomes
        finally:
            link.drop()
            link.lock.release()
            if key is not None:
                self._round_metrics(key, outcomes)

    def _drain_replaced(self, link: RegisterLink, serial: str, current: str) -> list[JobOutcome]:
        outcomes: list[JobOutcome] = []
        for pairing in self.store.pairings():
            record = self.store.get_register(pairing.register_key)
            if (record is None or record.serial != serial
                    or pairing.register_key == current):
                continue
            if DOCUMENTS in self.scheduler.due(pairing.register_key):
                outcomes += self.scheduler.run_jobs(link, pairing.register_key, [DOCUMENTS])
        return outcomes

    def _ofd_metric(self, link: RegisterLink, key: str) -> None:
        try:
            self.metrics.set(OFD_UNSENT, link.kkt().ofd_queue().unsent, register=key)
        except (KktBridgeError, NotImplementedError) as exc:
            log.debug("OFD queue of %s: %s", key, exc)

    def _round_metrics(self, key: str, outcomes: Sequence[JobOutcome]) -> None:
        for outcome in outcomes:
            if outcome.ok:
                self.metrics.set(LAST_SUCCESS, self.clock.now(), register=key, job=outcome.job)
                exported = outcome.summary.get("exported", 0)
                if exported:
                    self.metrics.inc(EXPORTED, exported, register=key)
            else:
                self.metrics.inc(JOB_FAILURES, register=key, job=outcome.job)
        record = self.store.get_register(key)
        if record is not None and record.fn_number:
            outbox = self.store.outbox_count(record.fn_number)
            cursor = self.store.get_cursor(record.fn_number)
            # the ФН's last ФД as last seen; documents already in the outbox are among them
            unsent = max(outbox, (record.last_fd_number or 0) - cursor)
            self.metrics.set(UNSENT, unsent, register=key)
            self.metrics.set(OUTBOX, outbox, register=key)
        self.write_metrics()

    def write_metrics(self) -> None:
        if self.metrics_file is None:
            return
        with self._metrics_lock:
            try:
                self.metrics.write_textfile(self.metrics_file)
            except OSError as exc:
                log.warning("metrics file %s not written: %s", self.metrics_file, exc)

    def wait_time(self, link: RegisterLink) -> float:
        """Seconds until this link needs attention again."""
        observation = self.watcher.last(link.url)
        wait = self.poll_interval
        if (self.present(link.url) and observation is not None
                and self.store.get_pairing(observation.key) is not None):
            due = self.scheduler.next_due_at(observation.key)
            if due is not None:
                wait = min(wait, due - self.clock.now())
        return max(0.0, wait)

    def run_link(self, link: RegisterLink, max_rounds: int | None = None) -> None:
        rounds = 0
        wake = self._wake[link.url]
        try:
            while not self.stop_event.is_set():
                wake.clear()
                try:
                    self.tick(link)
                except Exception:  # a bug in one round must not end the daemon
                    log.exception("round on %s failed", link.url)
                rounds += 1
                if max_rounds is not None and rounds >= max_rounds:
                    break
                # woken early by stop() or by the register being plugged back in
                self.clock.wait(max(self.wait_time(link), 0.05), wake)
        finally:
            link.drop()

    def run(self, between: Callable[[], None] | None = None) -> None:
        """Serve every link until :meth:`stop`; returns when all workers ended.
        ``between`` runs in this (the main) thread about twice a second: the CLI's
        dialogues live there, next to the signal handlers."""
        threads = [threading.Thread(target=self.run_link, args=(link,), daemon=True,
                                    name=f"kkt-bridge {link.url}") for link in self.links]
        if self.presence is not None and self.presence.watched:
            threading.Thread(target=self.watch_hotplug, daemon=True,
                             name="kkt-bridge hot-plug").start()
        for thread in threads:
            thread.start()
        log.info("bridge started for %s", ", ".join(link.url for link in self.links))
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
                if between is not None and not self.stop_event.is_set():
                    between()
        log.info("bridge stopped")

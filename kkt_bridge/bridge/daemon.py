"""``kkt-bridge run``: the watcher and the scheduler for one or several registers.

The daemon is the one owner of each register link: one worker thread per link polls the
register (the watcher), runs the jobs that are due (the scheduler), and runs every request
the page, the API and the CLI send to that register (:meth:`Daemon.submit`), one at a time,
between its own rounds. Requests queue; none is ever refused because the link is busy.
``stop()`` (SIGTERM) lets the job in hand finish its current step (an export batch is sent
and acknowledged, or rolled back with the store transaction) and ends the workers.

It starts with nothing paired: registers come from ``--device``, from the store's pairings
and from discovery (ports whose USB id a driver declares), and a link is added while it
runs (a pairing through the page for a TCP register, a register plugged in). A connect
prompt goes to the :class:`~kkt_bridge.bridge.prompts.PromptBoard`, which every window
reads; a pairing or a settings change wakes the register's worker at once.

Hot-plug: a link whose URL is a serial node is watched (:mod:`kkt_bridge.link.hotplug`,
pyudev or polling). While unplugged its worker leaves it alone; plugged back, the worker
wakes and the receipts job runs at once. Nothing is lost or sent twice: the export cursor
is in the store, so the export goes on from the cursor's next ФД.

Metrics (:mod:`kkt_bridge.metrics`) are updated after every round and, when asked, written
to a textfile for node_exporter.
"""

from __future__ import annotations

import contextvars
import logging
import queue
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from kkt_bridge.bridge import figures
from kkt_bridge.bridge.access import DIRECT_WAIT
from kkt_bridge.bridge.actions import Actions, BackOfficePreset, LinkHealth, RegisterFacts
from kkt_bridge.bridge.actions.views import link_health, read_facts
from kkt_bridge.bridge.clock import SchedulerClock, SystemClock
from kkt_bridge.bridge.events import REGISTER_CHANGED, EventBus
from kkt_bridge.bridge.export import DEFAULT_BATCH, Decoder, fns_decoder
from kkt_bridge.bridge.jobs import DOCUMENTS
from kkt_bridge.bridge.locks import LinkBusyError
from kkt_bridge.bridge.presence import LinkChange, PortPresence
from kkt_bridge.bridge.prompts import PromptBoard
from kkt_bridge.bridge.scheduler import JobOutcome, RegisterLink, Scheduler
from kkt_bridge.bridge.watcher import Prompt, Watcher
from kkt_bridge.errors import KktBridgeError, LinkError, NotARegisterError
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
    PRESENT,
    Metrics,
)
from kkt_bridge.pluginmanager import BackOfficePluginManager, notify
from kkt_bridge.registers import open_register
from kkt_bridge.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_POLL_INTERVAL = 10.0
DEFAULT_DISCOVER_INTERVAL = 10.0
DEFAULT_HOTPLUG_INTERVAL = 1.0
#: "auto" (pyudev when importable, else polling), "pyudev", "poll", or "off"
HOTPLUG_BACKENDS = ("auto", "pyudev", "poll", "off")


def paired_urls(store: Store) -> list[str]:
    """Device URLs of every paired register (``kkt-bridge run`` with no ``--device``)."""
    return figures.paired_urls(store)


def discovered_urls() -> list[str]:
    """Ports whose USB id a register driver declares (no port is opened to find them)."""
    from kkt_bridge.link.discovery import Confidence, list_candidates

    return [c.url for c in list_candidates() if c.confidence is Confidence.USB_ID]


@dataclass
class _Request:
    work: Callable[[RegisterLink], Any]
    future: Future[Any]
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


class _Worker:
    """One register link, its wake-up event and its queue of requests."""

    def __init__(self, link: RegisterLink) -> None:
        self.link = link
        self.wake = threading.Event()
        self.requests: queue.SimpleQueue[_Request] = queue.SimpleQueue()
        self.thread: threading.Thread | None = None
        self.force_round = True
        #: a cash program made a document through the shared port: export at the next round
        self.export_pending = False
        self.facts: RegisterFacts | None = None
        self.health: LinkHealth = link_health("unknown")

    @property
    def running(self) -> bool:
        return self.thread is not None and self.thread.is_alive()


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
                 opener: Callable[[str], Kkt] = open_register, clock: SchedulerClock | None = None,
                 rng: random.Random | None = None, decoder: Decoder = fns_decoder,
                 batch_size: int = DEFAULT_BATCH,
                 poll_interval: float = DEFAULT_POLL_INTERVAL,
                 on_prompt: Callable[[Prompt], None] | None = None,
                 hotplug: str = "auto",
                 hotplug_interval: float = DEFAULT_HOTPLUG_INTERVAL,
                 list_ports: Callable[[], Iterable[Any]] | None = None,
                 on_link_change: Callable[[LinkChange], None] | None = None,
                 metrics: Metrics | None = None,
                 metrics_file: Path | None = None,
                 discover: Callable[[], Iterable[str]] | None = None,
                 discover_interval: float = DEFAULT_DISCOVER_INTERVAL,
                 preset: BackOfficePreset | None = None,
                 request_wait: float = DIRECT_WAIT) -> None:
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
        self.metrics.watch_store(store)
        self.metrics_file = metrics_file
        self._metrics_lock = threading.Lock()
        self._opener = opener
        self._workers: dict[str, _Worker] = {}
        self._workers_lock = threading.Lock()
        self._running = False
        self.request_wait = request_wait
        self.scheduler = Scheduler(store, pm, clock=self.clock, rng=rng, decoder=decoder,
                                   batch_size=batch_size, stop=self.stop_event)
        self.bus = EventBus()
        self.board = PromptBoard(self.bus, now=self.clock.now)
        self._on_prompt = on_prompt
        self.watcher = Watcher(store, pm, on_prompt=self._prompted)
        self.hotplug = hotplug
        self.hotplug_interval = hotplug_interval
        self._list_ports = list_ports
        self.on_link_change = on_link_change
        self.discover = discover
        self.discover_interval = discover_interval
        self.presence: PortPresence | None = None
        if hotplug != "off":
            self.presence = PortPresence(urls, list_fn=list_ports)
            for url in self.presence.watched:
                self.metrics.set(PRESENT, int(self.presence.is_present(url)), device=url)
        for url in urls:
            self.add_link(url)
        for pairing in store.pairings():
            register_secret(pairing.credentials.token)
        self.actions = Actions(store, pm, self, board=self.board, bus=self.bus,
                               preset=preset or BackOfficePreset(), facts=self.facts,
                               on_change=self.changed,
                               scheduler_factory=lambda: self.scheduler, now=self.clock.now)

    # --- links ------------------------------------------------------------------------

    @property
    def links(self) -> list[RegisterLink]:
        with self._workers_lock:
            return [worker.link for worker in self._workers.values()]

    @property
    def urls(self) -> list[str]:
        with self._workers_lock:
            return list(self._workers)

    @property
    def _wake(self) -> dict[str, threading.Event]:
        with self._workers_lock:
            return {url: worker.wake for url, worker in self._workers.items()}

    def add_link(self, url: str) -> RegisterLink:
        """Watch the register at ``url`` from now on (a no-op when it is watched)."""
        with self._workers_lock:
            worker = self._workers.get(url)
            if worker is None:
                worker = _Worker(RegisterLink(url, self._counting(url, self._opener),
                                              self.store.lock_dir))
                self._workers[url] = worker
                log.info("watching the register at %s", url)
                if self.presence is not None and self.presence.watch(url):
                    self.metrics.set(PRESENT, int(self.presence.is_present(url)), device=url)
                if self._running:
                    self._start(worker)
        return worker.link

    def _worker(self, url: str) -> _Worker:
        self.add_link(url)
        with self._workers_lock:
            return self._workers[url]

    def _start(self, worker: _Worker) -> None:
        worker.thread = threading.Thread(target=self.run_link, args=(worker.link,),
                                         daemon=True, name=f"kkt-bridge {worker.link.url}")
        worker.thread.start()

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

    # --- requests from the page, the API and the CLI ---------------------------------

    def call(self, url: str, work: Callable[[RegisterLink], T]) -> T:
        """Run ``work`` on the register at ``url`` in its worker, between its jobs, and
        wait for it (a :class:`~kkt_bridge.bridge.access.RegisterAccess`)."""
        return self.submit(url, work).result()

    def submit(self, url: str, work: Callable[[RegisterLink], T]) -> Future[T]:
        """Queue ``work`` for the register's worker. The request keeps the caller's context
        (its language). With no worker thread running it runs here, under the link lock."""
        worker = self._worker(url)
        request = _Request(work, Future())
        if self.stop_event.is_set():
            request.future.set_exception(LinkError(
                _("kkt-bridge останавливается"), _("повторите после перезапуска")))
            return request.future
        if not worker.running:
            self._serve(worker, request, drop=True)
            return request.future
        worker.requests.put(request)
        worker.wake.set()
        if not worker.running:  # it ended meanwhile: nobody would ever answer
            self._fail_pending(worker)
        return request.future

    def _fail_pending(self, worker: _Worker) -> None:
        while True:
            try:
                pending = worker.requests.get_nowait()
            except queue.Empty:
                return
            if pending.future.set_running_or_notify_cancel():
                pending.future.set_exception(LinkError(
                    _("kkt-bridge останавливается"), _("повторите после перезапуска")))

    def _serve(self, worker: _Worker, request: _Request, *, drop: bool = False) -> None:
        """Run one request under the link lock; ``drop``: close the port before the lock
        goes (a request run outside the worker must not close it under a round)."""
        if not request.future.set_running_or_notify_cancel():
            return
        link = worker.link
        deadline = time.monotonic() + self.request_wait
        # another process (a command run without the daemon, before it started) may hold
        # the link for a moment; this process's own users all come through this worker
        while not link.lock.acquire(blocking=False):
            if time.monotonic() >= deadline or self.stop_event.is_set():
                request.future.set_exception(LinkBusyError(
                    _("ККТ {link} занята другой программой").format(link=link.url),
                    _("закройте программу, которая открыла порт ККТ, и повторите")))
                return
            time.sleep(0.05)
        try:
            result = request.context.run(request.work, link)
        except BaseException as exc:
            if isinstance(exc, LinkError):
                link.drop()
            request.future.set_exception(exc)
        else:
            request.future.set_result(result)
        finally:
            if drop:
                link.drop()
            link.lock.release()

    def _serve_requests(self, worker: _Worker) -> int:
        served = 0
        while True:
            try:
                request = worker.requests.get_nowait()
            except queue.Empty:
                return served
            self._serve(worker, request)
            served += 1

    def changed(self, register_key: str, url: str | None) -> None:
        """A pairing or the settings of ``register_key`` changed: its worker looks again
        at once (a new link is watched from now on)."""
        if url:
            worker = self._worker(url)
            worker.force_round = True
            worker.wake.set()
        register_secret_of(self.store, register_key)
        self.bus.publish(REGISTER_CHANGED, {"register_key": register_key, "url": url})

    def facts(self, url: str) -> tuple[RegisterFacts | None, LinkHealth] | None:
        """The worker's latest look at the register (None: it has not looked yet)."""
        with self._workers_lock:
            worker = self._workers.get(url)
        if worker is None or worker.health.state == "unknown" or (
                worker.health.state == "ok" and worker.facts is None):
            return None
        return worker.facts, worker.health

    def _prompted(self, prompt: Prompt) -> None:
        if self.board.raise_prompt(prompt) is not None and self._on_prompt is not None:
            self._on_prompt(prompt)

    # --- hot-plug and discovery --------------------------------------------------------

    def present(self, url: str) -> bool:
        return self.presence is None or self.presence.is_present(url)

    def handle_port_event(self, event: PortEvent) -> list[LinkChange]:
        """A port appeared or vanished (from :func:`watch_ports`); report what it meant."""
        if self.discover is not None:
            self.discover_now()
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

    def discover_now(self) -> list[str]:
        """Watch every register discovery finds that is not watched yet; returns them."""
        if self.discover is None:
            return []
        try:
            found = list(self.discover())
        except Exception:  # discovery is a convenience: --device and pairings still work
            log.debug("discovery failed", exc_info=True)
            return []
        known = set(self.urls)
        new = [url for url in found if url not in known]
        for url in new:
            self.add_link(url)
        return new

    def _discover_loop(self) -> None:
        while not self.stop_event.is_set():
            self.discover_now()
            self.stop_event.wait(self.discover_interval)

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
        with self._workers_lock:
            worker = self._workers.get(change.url)
        if worker is not None and not change.present:
            worker.health = link_health("unplugged", None, datetime.now(UTC))
        if change.present:
            if key is not None and self.store.get_pairing(key) is not None:
                self._export_now(key)
            if worker is not None:
                worker.force_round = True
                worker.wake.set()

    def export_soon(self, url: str) -> None:
        """A cash program made a fiscal document on the register at ``url`` (through its
        shared port, :mod:`kkt_bridge.share`): the export runs now, not at the next poll."""
        with self._workers_lock:
            worker = self._workers.get(url)
        if worker is not None:
            # a flag, not a due time: an export running now would plan its next run over it
            worker.export_pending = True
            worker.force_round = True
            worker.wake.set()

    def _export_now(self, key: str) -> None:
        """Receipts made while the cable was out go out as soon as it is back."""
        run = self.store.get_job_run(key, DOCUMENTS)
        now = self.clock.now()
        if run.next_run_at is None or run.next_run_at > now:
            self.store.save_job_run(replace(run, next_run_at=now))

    def watch_hotplug(self, wait: Callable[[float], bool] | None = None) -> None:
        """Feed port events to :meth:`handle_port_event` until :meth:`stop` (a thread)."""
        if self.presence is None or (not self.presence.watched and self.discover is None):
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

        The port is closed again at the end of the round. Within this process every use of
        the link goes through its worker; the link lock keeps another process (a command
        run without the daemon) from meeting a round."""
        self.refresh_presence()
        worker = self._worker(link.url)
        if not self.present(link.url):
            return []  # unplugged: the plug-in event wakes this worker
        if not link.lock.acquire(blocking=False):
            return []  # another process holds it: look again next round
        outcomes: list[JobOutcome] = []
        key: str | None = None
        try:
            observation = self.watcher.poll(link)
            if observation is None:
                worker.facts = None
                worker.health = link_health("unreachable", self.watcher.last_error(link.url),
                                            datetime.now(UTC))
                return []
            self._look(worker, link)
            if not observation.registered:
                return []
            key = observation.key
            if self.store.get_pairing(key) is None:
                # a new ФН not yet paired: the replaced ФН's documents still go out under
                # its own pairing, so nothing waits for the user to pair again
                outcomes = self._drain_replaced(link, observation.identity.serial, key)
                return outcomes
            if worker.export_pending:
                worker.export_pending = False
                self._export_now(key)
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

    def _look(self, worker: _Worker, link: RegisterLink) -> None:
        """What the page shows of the register, read in the same round as the watcher's."""
        try:
            worker.facts = read_facts(link.kkt())
        except (KktBridgeError, NotImplementedError) as exc:
            log.debug("state of %s: %s", link.url, exc)
            if isinstance(exc, LinkError) and not isinstance(exc, NotARegisterError):
                link.drop()
                worker.health = link_health("unreachable", str(exc), datetime.now(UTC))
                return
        worker.health = link_health("ok", None, datetime.now(UTC))
        if worker.facts is not None and worker.facts.fn_number:
            self.metrics.set(OFD_UNSENT, worker.facts.ofd_unsent, register=worker.facts.key)

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

    def _round_metrics(self, key: str, outcomes: Sequence[JobOutcome]) -> None:
        for outcome in outcomes:
            if outcome.ok:
                self.metrics.set(LAST_SUCCESS, self.clock.now(), register=key, job=outcome.job)
                exported = outcome.summary.get("exported", 0)
                if exported:
                    self.metrics.inc(EXPORTED, exported, register=key)
            else:
                self.metrics.inc(JOB_FAILURES, register=key, job=outcome.job)
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
        """The worker of one link: requests first, a round when one is due, then sleep
        until the next round, a request, a pairing or a plug-in wakes it."""
        rounds = 0
        worker = self._worker(link.url)
        next_round = self.clock.now()
        try:
            while not self.stop_event.is_set():
                worker.wake.clear()
                if self._serve_requests(worker):
                    link.drop()
                if worker.force_round or self.clock.now() >= next_round:
                    worker.force_round = False
                    try:
                        self.tick(link)
                    except Exception:  # a bug in one round must not end the daemon
                        log.exception("round on %s failed", link.url)
                    rounds += 1
                    if max_rounds is not None and rounds >= max_rounds:
                        break
                    next_round = self.clock.now() + self.wait_time(link)
                if not worker.requests.empty():
                    continue
                # woken early by stop(), a request, a pairing or the register plugged in
                self.clock.wait(max(next_round - self.clock.now(), 0.05), worker.wake)
        finally:
            link.drop()
            worker.thread = None  # no longer running: a request from now on is failed
            self._fail_pending(worker)  # nothing waits forever on a worker that has ended

    def run(self, between: Callable[[], None] | None = None) -> None:
        """Serve every link until :meth:`stop`; returns when all workers ended.
        ``between`` runs in this (the main) thread about twice a second: the CLI's
        dialogues live there, next to the signal handlers."""
        with self._workers_lock:
            self._running = True
            workers = list(self._workers.values())
        for worker in workers:
            self._start(worker)
        if self.presence is not None and (self.presence.watched or self.discover is not None):
            threading.Thread(target=self.watch_hotplug, daemon=True,
                             name="kkt-bridge hot-plug").start()
        if self.discover is not None:
            threading.Thread(target=self._discover_loop, daemon=True,
                             name="kkt-bridge discovery").start()
        log.info("bridge started for %s", ", ".join(self.urls) or _("(ККТ пока не найдены)"))
        try:
            while not self.stop_event.is_set():
                self.stop_event.wait(0.5)
                if between is not None and not self.stop_event.is_set():
                    between()
        finally:
            with self._workers_lock:
                self._running = False
                threads = [w.thread for w in self._workers.values() if w.thread is not None]
            for thread in threads:
                thread.join()
        log.info("bridge stopped")


def register_secret_of(store: Store, register_key: str) -> None:
    pairing = store.get_pairing(register_key)
    if pairing is not None:
        register_secret(pairing.credentials.token)

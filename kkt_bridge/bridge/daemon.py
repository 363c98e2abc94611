"""``kkt-bridge run``: the watcher and the scheduler for one or several registers.

One worker thread per register link: it polls the register (the watcher), runs the jobs that
are due (the scheduler), and waits for the earlier of the next due job and the next poll.
``stop()`` (SIGTERM) lets the job in hand finish its current step (an export batch is sent
and acknowledged, or rolled back with the store transaction) and ends the workers.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from kkt_bridge.bridge.clock import Clock, SystemClock
from kkt_bridge.bridge.export import DEFAULT_BATCH, Decoder, fns_decoder
from kkt_bridge.bridge.scheduler import JobOutcome, RegisterLink, Scheduler
from kkt_bridge.bridge.watcher import Prompt, Watcher
from kkt_bridge.kkt import Kkt
from kkt_bridge.logs import register_secret
from kkt_bridge.pluginmanager import BackOfficePluginManager
from kkt_bridge.store import Store

log = logging.getLogger(__name__)

DEFAULT_POLL_INTERVAL = 10.0


def default_opener(url: str) -> Kkt:
    from kkt_bridge.registers import open_register

    return open_register(url)


def paired_urls(store: Store) -> list[str]:
    """Device URLs of every paired register (``kkt-bridge run`` with no ``--device``)."""
    urls: list[str] = []
    for pairing in store.pairings():
        record = store.get_register(pairing.register_key)
        if record and record.device_url and record.device_url not in urls:
            urls.append(record.device_url)
    return urls


class Daemon:
    def __init__(self, store: Store, pm: BackOfficePluginManager, urls: Sequence[str], *,
                 opener: Callable[[str], Kkt] = default_opener, clock: Clock | None = None,
                 rng: random.Random | None = None, decoder: Decoder = fns_decoder,
                 batch_size: int = DEFAULT_BATCH,
                 poll_interval: float = DEFAULT_POLL_INTERVAL,
                 on_prompt: Callable[[Prompt], None] | None = None) -> None:
        self.store = store
        self.clock = clock or SystemClock()
        self.stop_event = threading.Event()
        self.poll_interval = poll_interval
        lock_dir = Path(store.path).parent / "locks"
        self.links = [RegisterLink(url, opener, lock_dir) for url in urls]
        self.scheduler = Scheduler(store, pm, clock=self.clock, rng=rng, decoder=decoder,
                                   batch_size=batch_size, stop=self.stop_event)
        self.watcher = Watcher(store, pm, on_prompt=on_prompt)
        for pairing in store.pairings():
            register_secret(pairing.credentials.token)

    def stop(self) -> None:
        self.stop_event.set()

    def tick(self, link: RegisterLink) -> list[JobOutcome]:
        """One round for one link: look at the register, then run what is due.

        The port is closed again at the end of the round, so ``kkt-bridge sync now`` (or a
        service tool) can open it between rounds; the link lock keeps them from meeting."""
        if not link.lock.acquire(blocking=False):
            return []  # a `sync now` holds it: look again next round
        try:
            observation = self.watcher.poll(link)
            if observation is None or not observation.registered:
                return []
            if self.store.get_pairing(observation.key) is None:
                return []
            return self.scheduler.run_jobs(link, observation.key,
                                           self.scheduler.due(observation.key))
        finally:
            link.drop()
            link.lock.release()

    def wait_time(self, link: RegisterLink) -> float:
        """Seconds until this link needs attention again."""
        observation = self.watcher.last(link.url)
        wait = self.poll_interval
        if observation is not None and self.store.get_pairing(observation.key) is not None:
            due = self.scheduler.next_due_at(observation.key)
            if due is not None:
                wait = min(wait, due - self.clock.now())
        return max(0.0, wait)

    def run_link(self, link: RegisterLink, max_rounds: int | None = None) -> None:
        rounds = 0
        try:
            while not self.stop_event.is_set():
                try:
                    self.tick(link)
                except Exception:  # a bug in one round must not end the daemon
                    log.exception("round on %s failed", link.url)
                rounds += 1
                if max_rounds is not None and rounds >= max_rounds:
                    break
                if self.clock.wait(max(self.wait_time(link), 0.05), self.stop_event):
                    break
        finally:
            link.drop()

    def run(self, between: Callable[[], None] | None = None) -> None:
        """Serve every link until :meth:`stop`; returns when all workers ended.
        ``between`` runs in this (the main) thread about twice a second: the CLI's
        dialogues live there, next to the signal handlers."""
        threads = [threading.Thread(target=self.run_link, args=(link,), daemon=True,
                                    name=f"kkt-bridge {link.url}") for link in self.links]
        for thread in threads:
            thread.start()
        log.info("bridge started for %s", ", ".join(link.url for link in self.links))
        for thread in threads:
            while thread.is_alive():
                thread.join(0.5)
                if between is not None and not self.stop_event.is_set():
                    between()
        log.info("bridge stopped")

"""When each job runs: its period, «Обновить сейчас», backoff, and a per-installation offset.

- Each register's jobs run on a grid of their period shifted by an offset derived from the
  installation id, so a fleet started together spreads over the first minute instead of
  hitting the back office in the same second.
- The next run is persisted: a restart runs an overdue job once (no storm of missed runs)
  and does not wait a whole period for one that was due (no skip).
- A failure retries after an exponential backoff with jitter, never sooner than the back
  office's Retry-After.
- Jobs of one register link never overlap: they run under the link's lock.
- Time comes from a :class:`~kkt_bridge.bridge.clock.SchedulerClock`, so tests never sleep.
"""

from __future__ import annotations

import hashlib
import logging
import math
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from kkt_bridge.bridge.backoffice import BackOffice
from kkt_bridge.bridge.clock import SchedulerClock, SystemClock
from kkt_bridge.bridge.export import DEFAULT_BATCH, Decoder, fns_decoder
from kkt_bridge.bridge.jobs import DOCUMENTS, EMPLOYEES, GOODS, JOBS, RUNNERS, JobContext
from kkt_bridge.bridge.locks import LinkLock
from kkt_bridge.errors import BackOfficeError, KktBridgeError, LinkError, NotPairedError
from kkt_bridge.exchange import RegisterIdentity
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.pluginmanager import BackOfficePluginManager, notify
from kkt_bridge.store import ExchangeSettings, JobRun, Store

log = logging.getLogger(__name__)

BACKOFF_BASE = 10.0
BACKOFF_CAP = 3600.0
#: the per-installation offset spreads a fleet over at most this many seconds
MAX_SPREAD = 60.0


def installation_offset(installation_id: str, job: str, period: float) -> float:
    """A fixed offset in [0, min(period/5, MAX_SPREAD)) for this installation and job."""
    digest = hashlib.sha256(f"{installation_id}:{job}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return fraction * min(period / 5, MAX_SPREAD)


def next_slot(after: float, period: float, offset: float) -> float:
    """The first grid point ``k * period + offset`` strictly after ``after``."""
    return (math.floor((after - offset) / period) + 1) * period + offset


def backoff_delay(failures: int, rng: random.Random, retry_after: float | None = None) -> float:
    """Exponential backoff with "equal jitter": half fixed, half random; at least
    Retry-After."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, failures - 1))
    delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, float(retry_after))
    return delay


def job_period(settings: ExchangeSettings, job: str) -> int:
    """Seconds between runs; 0 when the job is off («Никогда»). Receipts are always on."""
    return {GOODS: settings.goods_period, EMPLOYEES: settings.employees_period,
            DOCUMENTS: settings.receipts_interval}[job]


def planned_run(store: Store, register_key: str, job: str, now: float,
                settings: ExchangeSettings | None = None) -> float | None:
    """When ``job`` is due; None when it is off. Never run: due ``now``. ``settings``: the
    register's, when the caller has them already."""
    if settings is None:
        settings = store.get_settings(register_key)
    period = job_period(settings, job)
    if period <= 0:
        return None
    run = store.get_job_run(register_key, job)
    if run.next_run_at is not None:
        return run.next_run_at
    if run.last_run_at is not None:  # a store from before next runs were kept
        return next_slot(run.last_run_at, period,
                         installation_offset(store.installation_id, job, period))
    return now


class RegisterLink:
    """A register reached at one URL: opened lazily, dropped after a link error so the next
    job reopens it, and guarded by the link's lock."""

    def __init__(self, url: str, opener: Callable[[str], Kkt], lock_dir: Path) -> None:
        self.url = url
        self._opener = opener
        self._kkt: Kkt | None = None
        self.lock = LinkLock(lock_dir, url)

    def kkt(self) -> Kkt:
        if self._kkt is None:
            self._kkt = self._opener(self.url)
        return self._kkt

    def drop(self) -> None:
        kkt, self._kkt = self._kkt, None
        if kkt is not None:
            try:
                kkt.close()
            except KktBridgeError as exc:
                log.debug("closing %s: %s", self.url, exc)


@dataclass(frozen=True)
class JobOutcome:
    register_key: str
    job: str
    ok: bool
    summary: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    next_run_at: float | None = None


class Scheduler:
    def __init__(self, store: Store, pm: BackOfficePluginManager, *,
                 clock: SchedulerClock | None = None, rng: random.Random | None = None,
                 decoder: Decoder = fns_decoder, batch_size: int = DEFAULT_BATCH,
                 stop: threading.Event | None = None) -> None:
        self.store = store
        self.pm = pm
        self.clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.decoder = decoder
        self.batch_size = batch_size
        self.stop = stop or threading.Event()

    # --- planning ---------------------------------------------------------------------

    def enabled_jobs(self, register_key: str) -> list[str]:
        settings = self.store.get_settings(register_key)
        return [job for job in JOBS if job_period(settings, job) > 0]

    def _planned(self, register_key: str, now: float) -> dict[str, float]:
        """Job -> when it is due, for the jobs that are on (the settings read once)."""
        settings = self.store.get_settings(register_key)
        planned = {job: planned_run(self.store, register_key, job, now, settings) for job in JOBS}
        return {job: at for job, at in planned.items() if at is not None}

    def due(self, register_key: str) -> list[str]:
        now = self.clock.now()
        return [job for job, at in self._planned(register_key, now).items() if at <= now]

    def next_due_at(self, register_key: str) -> float | None:
        return min(self._planned(register_key, self.clock.now()).values(), default=None)

    def _offset(self, job: str, period: float) -> float:
        return installation_offset(self.store.installation_id, job, period)

    # --- running ----------------------------------------------------------------------

    def run_due(self, link: RegisterLink, register_key: str) -> list[JobOutcome]:
        """Run the jobs that are due; none when another job holds the link."""
        due = self.due(register_key)
        if not due or not link.lock.acquire(blocking=False):
            return []
        try:
            return self.run_jobs(link, register_key, due)
        finally:
            link.lock.release()

    def run_now(self, link: RegisterLink, register_key: str) -> list[JobOutcome]:
        """«Обновить сейчас»: every enabled job of the register, at once."""
        with link.lock:
            return self.run_jobs(link, register_key, self.enabled_jobs(register_key))

    def run_jobs(self, link: RegisterLink, register_key: str,
                 jobs: list[str]) -> list[JobOutcome]:
        """Run ``jobs`` in order (the caller holds the link lock); stops early on stop()."""
        outcomes: list[JobOutcome] = []
        for job in jobs:
            if self.stop.is_set():
                break
            outcomes.append(self.run_job(link, register_key, job))
        return outcomes

    def run_job(self, link: RegisterLink, register_key: str, job: str) -> JobOutcome:
        """Run one job now (the caller holds the link lock) and persist its run."""
        started = self.clock.now()
        run = self.store.get_job_run(register_key, job)
        register: RegisterIdentity | None = None
        mark = self._progress(register_key, job)
        try:
            ctx = self._context(link, register_key)
            register = ctx.register
            summary = RUNNERS[job](ctx)
        except KktBridgeError as exc:
            if isinstance(exc, LinkError):
                link.drop()
            return self._failed(run, started, exc, register,
                                progressed=self._progress(register_key, job) != mark)
        except Exception as exc:  # a bug must not stop the daemon; it is logged and retried
            log.exception("job %s of %s crashed", job, register_key)
            error = KktBridgeError(_("внутренняя ошибка: {error}").format(
                error=type(exc).__name__), _("подробности в журнале"))
            return self._failed(run, started, error, register)
        finished = self.clock.now()
        period = job_period(self.store.get_settings(register_key), job) or 1
        next_at = next_slot(finished, period, self._offset(job, period))
        self.store.save_job_run(replace(run, last_run_at=started, last_success_at=finished,
                                        next_run_at=next_at, failures=0, last_error=None))
        if summary.get("exported") or job != DOCUMENTS:
            self.store.log_event(register_key, f"job:{job}", _("обмен выполнен"), **summary)
            log.info("%s %s: %s", register_key, job, summary)
        else:  # a receipt check that found nothing new: every minute, not news
            log.debug("%s %s: %s", register_key, job, summary)
        notify(self.pm, "kkt_job_finished", register=ctx.register, job=job, summary=summary)
        return JobOutcome(register_key, job, True, summary, None, next_at)

    def _context(self, link: RegisterLink, register_key: str) -> JobContext:
        pairing = self.store.get_pairing(register_key)
        record = self.store.get_register(register_key)
        if pairing is None or record is None:
            raise NotPairedError(_("ККТ {key} не подключена к бэк-офису").format(key=register_key),
                                 _("выполните «kkt-bridge connect»"))
        register = RegisterIdentity(serial=record.serial, fn_number=record.fn_number,
                                    model=record.model, inn=record.inn, rnm=record.rnm,
                                    installation_id=self.store.installation_id)
        kkt = link.kkt()
        identity = kkt.identity()
        fn_replaced = (identity.key != register_key and identity.serial == record.serial
                       and identity.fn_number != record.fn_number)
        if identity.key != register_key and not fn_replaced:
            raise NotPairedError(
                _("на {url} теперь другая ККТ или другой ФН ({key})").format(
                    url=link.url, key=identity.key),
                _("подключите её к бэк-офису: «kkt-bridge connect»"))
        return JobContext(store=self.store, kkt=kkt,
                          backoffice=BackOffice(self.pm, pairing.credentials.backoffice),
                          credentials=pairing.credentials, register_key=register_key,
                          register=register, decoder=self.decoder, batch_size=self.batch_size,
                          stop=self.stop, fn_replaced=fn_replaced)

    def _progress(self, register_key: str, job: str) -> tuple[int, int] | None:
        """What a documents run moves even when it fails at last: the cursor and the
        outbox (each document is kept as soon as it is read)."""
        record = self.store.get_register(register_key) if job == DOCUMENTS else None
        if record is None:
            return None
        return (self.store.get_cursor(record.fn_number),
                self.store.outbox_count(record.fn_number))

    def _failed(self, run: JobRun, started: float, exc: KktBridgeError,
                register: RegisterIdentity | None, *, progressed: bool = False) -> JobOutcome:
        # a run that got documents further before it failed (a noisy line, a flaky back
        # office, a restart) is the first failure again: the backoff must not grow while
        # the backlog shrinks, or a long backlog on a bad day would stall for an hour
        failures = 1 if progressed else run.failures + 1
        retry_after = exc.retry_after if isinstance(exc, BackOfficeError) else None
        next_at = self.clock.now() + backoff_delay(failures, self.rng, retry_after)
        message = str(exc)
        self.store.save_job_run(replace(run, last_run_at=started, next_run_at=next_at,
                                        failures=failures, last_error=message))
        self.store.log_event(run.register_key, f"job:{run.job}", message, failed=True,
                             failures=failures)
        log.warning("%s %s failed (%d): %s", run.register_key, run.job, failures, message)
        if register is not None:
            notify(self.pm, "kkt_job_failed", register=register, job=run.job, error=message)
        return JobOutcome(run.register_key, run.job, False, {}, message, next_at)

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt, fake_decoder

from kkt_bridge.bridge.clock import FakeClock
from kkt_bridge.bridge.jobs import DOCUMENTS, EMPLOYEES, GOODS
from kkt_bridge.bridge.locks import LinkBusyError
from kkt_bridge.bridge.pairing import pair
from kkt_bridge.bridge.scheduler import (
    BACKOFF_CAP,
    MAX_SPREAD,
    RegisterLink,
    Scheduler,
    backoff_delay,
    installation_offset,
    next_slot,
)
from kkt_bridge.bridge.settings import apply_settings, preview_settings
from kkt_bridge.errors import BackOfficeError, RateLimitedError
from kkt_bridge.exchange import Catalog, Employee, Good, GoodsGroup
from kkt_bridge.pluginmanager import BackOfficePluginManager
from kkt_bridge.store import ORIGIN_BACKOFFICE, ExchangeSettings, Store


@pytest.fixture
def key(store: Store, pm: BackOfficePluginManager, kkt: FakeKkt, clock: FakeClock) -> str:
    pair(store, pm, kkt, plugin="fake", code="123456", device_url="fake://1")
    key = kkt.identity().key
    new = ExchangeSettings(goods_period=900, employees_period=3600)
    apply_settings(store, key, new, confirmation=preview_settings(store, key, new).token,
                   now=clock.now())
    return key


def test_offset_is_per_installation_small_and_stable() -> None:
    offsets = {installation_offset(f"inst-{i}", GOODS, 900) for i in range(50)}
    assert len(offsets) == 50
    assert all(0 <= o < MAX_SPREAD for o in offsets)
    assert installation_offset("a", GOODS, 900) == installation_offset("a", GOODS, 900)
    assert all(0 <= installation_offset(f"i{i}", DOCUMENTS, 60) < 12 for i in range(50))


def test_next_slot_is_on_the_grid_after_now() -> None:
    assert next_slot(1000.0, 300, 7) == 1207
    assert next_slot(1207.0, 300, 7) == 1507
    assert next_slot(1206.9, 300, 7) == 1207


def test_backoff_grows_with_jitter_and_honours_retry_after() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(n, rng) for n in range(1, 12)]
    assert all(5 <= d <= 10 for d in delays[:1])
    assert all(d <= BACKOFF_CAP for d in delays)
    assert delays[5] > delays[0]
    assert backoff_delay(1, rng, retry_after=120) >= 120
    assert len({backoff_delay(3, random.Random(s)) for s in range(10)}) > 1


def test_update_now_runs_every_enabled_job(scheduler: Scheduler, link: RegisterLink, key: str,
                                          store: Store, kkt: FakeKkt,
                                          backoffice: FakeBackOffice) -> None:
    kkt.sell()
    outcomes = scheduler.run_now(link, key)
    assert [(o.job, o.ok) for o in outcomes] == [(DOCUMENTS, True), (GOODS, True),
                                                 (EMPLOYEES, True)]
    assert len(backoffice.stored) == 2
    assert {g.good.id for g in store.goods(key, ORIGIN_BACKOFFICE)} == {"p1", "p2"}
    assert [e.name for e in store.employees(key)] == ["Иванова А.", "Петров Б."]
    assert kkt.cashiers[1] == "Иванова А." and kkt.cashiers[2] == "Петров Б."


def test_jobs_set_to_never_do_not_run(scheduler: Scheduler, link: RegisterLink, store: Store,
                                      pm: BackOfficePluginManager, kkt: FakeKkt) -> None:
    pair(store, pm, kkt, plugin="fake", code="123456")
    outcomes = scheduler.run_now(link, kkt.identity().key)
    assert [o.job for o in outcomes] == [DOCUMENTS]


def test_each_job_runs_on_its_period(scheduler: Scheduler, link: RegisterLink, key: str,
                                     clock: FakeClock) -> None:
    assert set(scheduler.due(key)) == {DOCUMENTS, GOODS, EMPLOYEES}
    scheduler.run_due(link, key)
    assert scheduler.due(key) == []
    runs: dict[str, int] = {DOCUMENTS: 0, GOODS: 0, EMPLOYEES: 0}
    for _ in range(2 * 3600 // 30):
        clock.advance(30)
        for outcome in scheduler.run_due(link, key):
            assert outcome.ok
            runs[outcome.job] += 1
    assert runs == {DOCUMENTS: 120, GOODS: 8, EMPLOYEES: 2}


def test_failure_backs_off_and_respects_retry_after(scheduler: Scheduler, link: RegisterLink,
                                                    key: str, store: Store, clock: FakeClock,
                                                    kkt: FakeKkt,
                                                    backoffice: FakeBackOffice) -> None:
    kkt.sell()
    backoffice.export_failures = [RateLimitedError("429", "подождите", retry_after=300),
                                  BackOfficeError("500", "позже", retryable=True)]
    (outcome,) = scheduler.run_jobs(link, key, [DOCUMENTS])
    assert not outcome.ok and outcome.next_run_at is not None
    assert outcome.next_run_at - clock.now() >= 300
    run = store.get_job_run(key, DOCUMENTS)
    assert run.failures == 1 and "429" in (run.last_error or "")
    clock.advance(299)
    assert DOCUMENTS not in scheduler.due(key)
    clock.advance(outcome.next_run_at - clock.now())
    (second,) = scheduler.run_jobs(link, key, [DOCUMENTS])
    assert not second.ok and store.get_job_run(key, DOCUMENTS).failures == 2
    clock.advance(second.next_run_at - clock.now())  # type: ignore[operator]
    (third,) = scheduler.run_jobs(link, key, [DOCUMENTS])
    assert third.ok and store.get_job_run(key, DOCUMENTS).failures == 0
    assert len(backoffice.stored) == 2


def test_restart_neither_storms_nor_skips(store: Store, pm: BackOfficePluginManager,
                                          link: RegisterLink, key: str, clock: FakeClock,
                                          backoffice: FakeBackOffice, kkt: FakeKkt) -> None:
    first = Scheduler(store, pm, clock=clock, decoder=fake_decoder)
    first.run_due(link, key)
    clock.advance(5 * 3600)  # down for five hours: many goods periods missed
    kkt.sell()
    restarted = Scheduler(store, pm, clock=clock, decoder=fake_decoder)
    outcomes = restarted.run_due(link, key)
    assert sorted(o.job for o in outcomes) == sorted([DOCUMENTS, GOODS, EMPLOYEES])  # once each
    assert restarted.run_due(link, key) == []
    assert len(backoffice.stored) == 2


def test_restart_keeps_waiting_for_a_job_not_yet_due(store: Store, pm: BackOfficePluginManager,
                                                     link: RegisterLink, key: str,
                                                     clock: FakeClock) -> None:
    Scheduler(store, pm, clock=clock, decoder=fake_decoder).run_due(link, key)
    clock.advance(100)
    assert Scheduler(store, pm, clock=clock, decoder=fake_decoder).due(key) == [DOCUMENTS]


def test_a_busy_link_runs_nothing(scheduler: Scheduler, link: RegisterLink, key: str) -> None:
    assert link.lock.acquire(blocking=False)
    try:
        assert scheduler.run_due(link, key) == []
        other = RegisterLink(link.url, lambda url: FakeKkt(), link.lock._lock_dir)
        assert not other.lock.acquire(blocking=False)
    finally:
        link.lock.release()
    assert scheduler.run_due(link, key)


def test_bad_catalog_changes_nothing(scheduler: Scheduler, link: RegisterLink, key: str,
                                     store: Store, backoffice: FakeBackOffice) -> None:
    scheduler.run_job(link, key, GOODS)
    before = store.goods(key)
    backoffice.catalog = Catalog(groups=(GoodsGroup("g9", "X", "missing"),),
                                 goods=(Good("p9", "Y", 1, "g9"),))
    outcome = scheduler.run_job(link, key, GOODS)
    assert not outcome.ok and "каталог" in (outcome.error or "")
    assert store.goods(key) == before


def test_cashiers_are_written_only_where_the_driver_can(scheduler: Scheduler,
                                                        link: RegisterLink, key: str,
                                                        store: Store, kkt: FakeKkt,
                                                        backoffice: FakeBackOffice) -> None:
    kkt.can_write_cashiers = False
    outcome = scheduler.run_job(link, key, EMPLOYEES)
    assert outcome.ok and outcome.summary["cashiers_written"] == 0
    assert len(store.employees(key)) == 2
    kkt.can_write_cashiers = True
    scheduler.run_job(link, key, EMPLOYEES)
    writes = kkt.cashier_writes
    scheduler.run_job(link, key, EMPLOYEES)
    assert kkt.cashier_writes == writes  # unchanged names are not rewritten
    backoffice.employees = [Employee("e3", "Сидоров В.")]
    scheduler.run_job(link, key, EMPLOYEES)
    assert kkt.cashiers[1] == "Сидоров В."


def test_another_register_on_the_link_is_not_served(scheduler: Scheduler, key: str,
                                                    store: Store, home: Path) -> None:
    other = FakeKkt(serial="0002")
    other.sell()
    link = RegisterLink("fake://1", lambda url: other, home / "locks")
    outcome = scheduler.run_job(link, key, DOCUMENTS)
    assert not outcome.ok and "другая ККТ" in (outcome.error or "")
    assert other.reads == 0 and store.get_cursor(other.fn_number or "") == 0


class TickingClock(FakeClock):
    """Every reading is a little later than the one before, as on a real clock."""

    def now(self) -> float:
        self.advance(0.001)
        return super().now()


def test_a_job_never_run_is_due_on_a_moving_clock(store: Store, pm: BackOfficePluginManager,
                                                  link: RegisterLink, key: str) -> None:
    scheduler = Scheduler(store, pm, clock=TickingClock(), decoder=fake_decoder)
    assert set(scheduler.due(key)) == {DOCUMENTS, GOODS, EMPLOYEES}
    assert len(scheduler.run_due(link, key)) == 3


class SlowKkt(FakeKkt):
    """A register whose ФН status takes until the test says so, counting overlapping users."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.go = threading.Event()
        self.active = 0
        self.most = 0
        self._count = threading.Lock()

    def fn_status(self):  # type: ignore[no-untyped-def]
        with self._count:
            self.active += 1
            self.most = max(self.most, self.active)
        self.inside.set()
        try:
            assert self.go.wait(30)
            return super().fn_status()
        finally:
            with self._count:
                self.active -= 1


def test_never_two_jobs_on_one_link_across_threads(store: Store, pm: BackOfficePluginManager,
                                                   key: str, home: Path,
                                                   backoffice: FakeBackOffice) -> None:
    slow = SlowKkt()
    slow.sell()
    first = Scheduler(store, pm, decoder=fake_decoder)
    second = Scheduler(store, pm, decoder=fake_decoder)
    link_a = RegisterLink("fake://1", lambda url: slow, home / "locks")
    link_b = RegisterLink("fake://1", lambda url: slow, home / "locks")  # another worker
    worker = threading.Thread(target=first.run_now, args=(link_a, key))
    worker.start()
    try:
        assert slow.inside.wait(30)
        with pytest.raises(LinkBusyError, match="занята"):
            second.run_now(link_b, key)
        assert second.run_due(link_b, key) == []
    finally:
        slow.go.set()
        worker.join(30)
    assert not worker.is_alive() and slow.most == 1
    assert len(backoffice.stored) == 2
    assert second.run_now(link_b, key)  # free again


def test_a_receipt_check_with_nothing_new_is_not_news_at_info(
        scheduler: Scheduler, link: RegisterLink, key: str, kkt: FakeKkt,
        caplog: pytest.LogCaptureFixture) -> None:
    import logging

    kkt.sell()
    with caplog.at_level(logging.INFO, logger="kkt_bridge.bridge.scheduler"):
        scheduler.run_job(link, key, DOCUMENTS)  # exports: said at INFO
        exported = [r for r in caplog.records if r.levelno >= logging.INFO]
        caplog.clear()
        scheduler.run_job(link, key, DOCUMENTS)  # nothing new
        quiet = [r for r in caplog.records if r.levelno >= logging.INFO]
    assert len(exported) == 1 and quiet == []

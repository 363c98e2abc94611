"""No fiscal document lost when the ФН is replaced mid-export, and a document the back office
refuses for good is reported (event log, status, ``kkt_job_failed``) instead of blocking
silently; the cursor still never passes it."""

from __future__ import annotations

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt

from kkt_bridge.bridge.clock import FakeClock
from kkt_bridge.bridge.export import REJECTED, REJECTION_ALERT
from kkt_bridge.bridge.jobs import DOCUMENTS, UNREAD
from kkt_bridge.bridge.pairing import pair
from kkt_bridge.bridge.scheduler import RegisterLink, Scheduler
from kkt_bridge.bridge.status import bridge_status, format_status
from kkt_bridge.errors import BackOfficeError
from kkt_bridge.exchange import RegisterIdentity
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.pluginmanager import BackOfficePluginManager, get_plugin_manager
from kkt_bridge.store import Store

OLD_FN = "9999000011112222"
NEW_FN = "8888000011112222"


class FailureListener:
    def __init__(self) -> None:
        self.failures: list[tuple[str, str]] = []

    @hookimpl
    def kkt_job_failed(self, register: RegisterIdentity, job: str, error: str) -> None:
        self.failures.append((job, error))


@pytest.fixture
def listener() -> FailureListener:
    return FailureListener()


@pytest.fixture
def pm(backoffice: FakeBackOffice, listener: FailureListener) -> BackOfficePluginManager:
    return get_plugin_manager(load_entrypoints=False, plugins=[backoffice, listener])


@pytest.fixture
def scheduler(store: Store, pm: BackOfficePluginManager, clock: FakeClock) -> Scheduler:
    from bridge_fakes import fake_decoder

    return Scheduler(store, pm, clock=clock, decoder=fake_decoder, batch_size=10)


def _read_into_outbox_then_swap(store: Store, pm: BackOfficePluginManager, kkt: FakeKkt,
                                scheduler: Scheduler, link: RegisterLink,
                                backoffice: FakeBackOffice) -> str:
    """Paired, five sales read into the outbox but refused by a 500, then a new ФН."""
    old_key = pair(store, pm, kkt, plugin="fake", code="123456",
                   device_url="fake://1").register_key
    for _ in range(5):
        kkt.sell()
    backoffice.export_failures = [BackOfficeError("500", "позже", retryable=True)]
    assert not scheduler.run_job(link, old_key, DOCUMENTS).ok
    assert store.outbox_count(OLD_FN) == 6 and store.get_cursor(OLD_FN) == 0
    kkt.new_fn(NEW_FN)  # the old ФН and its archive leave the register
    kkt.register()
    return old_key


def test_outbox_of_a_replaced_fn_goes_out_with_the_new_fn(
        store: Store, pm: BackOfficePluginManager, kkt: FakeKkt, scheduler: Scheduler,
        link: RegisterLink, backoffice: FakeBackOffice) -> None:
    _read_into_outbox_then_swap(store, pm, kkt, scheduler, link, backoffice)
    backoffice.codes["654321"] = "shop-1"
    new_key = pair(store, pm, kkt, plugin="fake", code="654321",
                   device_url="fake://1").register_key
    kkt.sell()
    outcome = scheduler.run_job(link, new_key, DOCUMENTS)
    assert outcome.ok, outcome.error
    assert outcome.summary["replaced_fn_exported"] == 6
    assert sorted(backoffice.stored) == sorted(
        [f"{OLD_FN}:{n}" for n in range(1, 7)] + [f"{NEW_FN}:{n}" for n in (1, 2)])
    assert store.get_cursor(OLD_FN) == 6 and store.outbox_count() == 0
    assert bridge_status(store, new_key)["export"]["replaced_fns"] == []


def test_the_old_pairing_drains_its_outbox_before_the_new_fn_is_paired(
        store: Store, pm: BackOfficePluginManager, kkt: FakeKkt, scheduler: Scheduler,
        link: RegisterLink, backoffice: FakeBackOffice) -> None:
    old_key = _read_into_outbox_then_swap(store, pm, kkt, scheduler, link, backoffice)
    reads = kkt.reads
    outcomes = scheduler.run_now(link, old_key)  # what `sync now` does for the old pairing
    assert [(o.job, o.ok) for o in outcomes] == [(DOCUMENTS, True)]
    assert outcomes[0].summary["fn_replaced"] == 1
    assert sorted(backoffice.stored) == sorted(f"{OLD_FN}:{n}" for n in range(1, 7))
    assert kkt.reads == reads  # the new ФН was not read under the old pairing
    again = scheduler.run_now(link, old_key)
    assert again[0].ok and len(backoffice.received) == 6


def test_documents_never_read_from_a_replaced_fn_are_reported(
        store: Store, pm: BackOfficePluginManager, kkt: FakeKkt, scheduler: Scheduler,
        link: RegisterLink, backoffice: FakeBackOffice, listener: FailureListener) -> None:
    old_key = pair(store, pm, kkt, plugin="fake", code="123456",
                   device_url="fake://1").register_key
    for _ in range(4):
        kkt.sell()
    assert scheduler.run_job(link, old_key, DOCUMENTS).ok  # 1..5 exported
    for _ in range(3):
        kkt.sell()
    store.set_last_fd_number(old_key, 8)  # the watcher saw 6..8, then the ФН was swapped
    kkt.new_fn(NEW_FN)
    kkt.register()
    backoffice.codes["654321"] = "shop-1"
    new_key = pair(store, pm, kkt, plugin="fake", code="654321",
                   device_url="fake://1").register_key
    (old,) = bridge_status(store, new_key)["export"]["replaced_fns"]
    assert (old["fn_number"], old["unread"]) == (OLD_FN, 3)
    assert any(f"Прежний ФН {OLD_FN}" in line
               for line in format_status(bridge_status(store, new_key)))
    # the new ФН's job says it once (event log, kkt_job_failed), and is not held back by it
    first = scheduler.run_job(link, new_key, DOCUMENTS)
    assert not first.ok and f"ФН {OLD_FN} заменён" in (first.error or "")
    assert "6–8" in (first.error or "") and "6–8" in listener.failures[-1][1]
    assert store.last_event(old_key, UNREAD) is not None
    assert f"{NEW_FN}:1" in backoffice.stored
    assert scheduler.run_job(link, new_key, DOCUMENTS).ok
    # the old pairing's own job (what `sync now` runs) keeps saying it
    outcome = scheduler.run_job(link, old_key, DOCUMENTS)
    assert not outcome.ok and "6–8" in (outcome.error or "")
    assert store.get_cursor(OLD_FN) == 5


class RefusingBackOffice(FakeBackOffice):
    """Refuses one document for good, as a back office does with data it cannot take."""

    refuse: str = ""

    @hookimpl
    def backoffice_export_documents(self, backoffice, credentials, documents):  # type: ignore[no-untyped-def]
        from kkt_bridge.exchange import Ack

        acks = []
        for document in documents:
            if document.key == self.refuse:
                acks.append(Ack(document.key, accepted=False, error="неверная ставка НДС"))
                continue
            self.stored.setdefault(document.key, document)
            acks.append(Ack(document.key, accepted=True))
        return acks


def test_a_document_refused_for_good_is_reported_and_never_skipped(
        store: Store, kkt: FakeKkt, clock: FakeClock, link: RegisterLink,
        listener: FailureListener) -> None:
    from bridge_fakes import fake_decoder

    office = RefusingBackOffice()
    office.refuse = f"{OLD_FN}:3"
    pm = get_plugin_manager(load_entrypoints=False, plugins=[office, listener])
    scheduler = Scheduler(store, pm, clock=clock, decoder=fake_decoder, batch_size=10)
    key = pair(store, pm, kkt, plugin="fake", code="123456").register_key
    for _ in range(4):
        kkt.sell()
    errors = []
    for _ in range(REJECTION_ALERT):
        outcome = scheduler.run_job(link, key, DOCUMENTS)
        assert not outcome.ok
        errors.append(outcome.error or "")
        assert store.get_cursor(OLD_FN) == 2  # only the accepted prefix
        clock.advance((outcome.next_run_at or 0) - clock.now())
    assert "выгрузка продолжится с этого документа" in errors[0]
    final = errors[-1]
    assert f"ФД 3 (ФН {OLD_FN}) уже {REJECTION_ALERT}-й раз подряд" in final
    assert "неверная ставка НДС" in final and "поддержку" in final
    assert listener.failures[-1] == (DOCUMENTS, final)
    event = store.last_event(key, REJECTED)
    assert event is not None and event.data["attempts"] == REJECTION_ALERT
    rejected = bridge_status(store, key)["export"]["rejected"]
    assert rejected["fd_number"] == 3 and rejected["attempts"] == REJECTION_ALERT
    assert any("не принимает ФД 3" in line for line in format_status(bridge_status(store, key)))
    office.refuse = ""  # fixed in the back office
    clock.advance(7200)
    assert scheduler.run_job(link, key, DOCUMENTS).ok
    assert store.get_cursor(OLD_FN) == 5
    assert bridge_status(store, key)["export"]["rejected"] is None


def test_the_daemon_drains_a_replaced_fn_while_the_new_one_is_not_paired(
        store: Store, pm: BackOfficePluginManager, kkt: FakeKkt, scheduler: Scheduler,
        link: RegisterLink, backoffice: FakeBackOffice, clock: FakeClock) -> None:
    from bridge_fakes import fake_decoder

    from kkt_bridge.bridge.daemon import Daemon

    _read_into_outbox_then_swap(store, pm, kkt, scheduler, link, backoffice)
    daemon = Daemon(store, pm, ["fake://1"], opener=lambda url: kkt, clock=clock,
                    decoder=fake_decoder, batch_size=10, hotplug="off")
    clock.advance(3600)  # past the backoff of the refused export
    outcomes = daemon.tick(daemon.links[0])
    assert [(o.job, o.ok) for o in outcomes] == [(DOCUMENTS, True)]
    assert sorted(backoffice.stored) == sorted(f"{OLD_FN}:{n}" for n in range(1, 7))
    assert store.outbox_count(OLD_FN) == 0

"""Ways to lose or stall a fiscal document at the export's edges: a back office whose
acknowledgements cannot be trusted, holes in the outbox, a register that skips a document,
and a link that dies in the middle of a slow batch."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading

import pytest
from bridge_fakes import FakeBackOffice, FakeKkt, fake_document
from test_export import FN, exporter

from kkt_bridge.bridge.clock import FakeClock
from kkt_bridge.bridge.jobs import DOCUMENTS
from kkt_bridge.bridge.pairing import pair
from kkt_bridge.bridge.scheduler import BACKOFF_BASE, RegisterLink, Scheduler
from kkt_bridge.errors import (
    AcknowledgementError,
    BackOfficeUnavailableError,
    DocumentError,
    LinkError,
)
from kkt_bridge.exchange import Ack, ExportDocument
from kkt_bridge.pluginmanager import BackOfficePluginManager
from kkt_bridge.store import OutboxDocument, Store


@pytest.fixture
def paired_kkt(store: Store, pm: BackOfficePluginManager, kkt: FakeKkt) -> FakeKkt:
    pair(store, pm, kkt, plugin="fake", code="123456")
    for _ in range(5):
        kkt.sell()  # ФД 1 (registration) .. 6
    return kkt


def _replace(index: int, **changes: object):  # type: ignore[no-untyped-def]
    def tamper(acks: list[Ack]) -> list[Ack]:
        acks = list(acks)
        acks[index] = dataclasses.replace(acks[index], **changes)
        return acks
    return tamper


@pytest.mark.parametrize("tamper", [
    _replace(1, accepted="false"),  # a string is not a boolean, "false" least of all
    _replace(1, accepted=1),
    _replace(1, duplicate="no"),
    _replace(1, key=f"{FN}:6"),  # accepted, but another document's key, mid-batch
    _replace(1, key=None),
    _replace(1, error=404),
    lambda acks: acks[:-1],  # fewer acknowledgements than documents
    lambda acks: [*acks, acks[-1]],  # more
    lambda acks: list(reversed(acks)),  # out of order
    lambda acks: tuple(acks),  # not a list
    lambda acks: [*acks[:1], {"key": acks[1].key, "accepted": True}, *acks[2:]],
    _replace(1, accepted=False, duplicate=True),  # a "duplicate" it did not accept
], ids=["accepted-str", "accepted-int", "duplicate-str", "other-key", "no-key", "error-int",
        "fewer", "more", "reversed", "tuple", "dict", "duplicate-refused"])
def test_acknowledgements_that_cannot_be_trusted_move_no_cursor(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice, tamper) -> None:  # type: ignore[no-untyped-def]
    backoffice.tamper = tamper
    with pytest.raises(AcknowledgementError) as info:
        exporter(store, pm, paired_kkt, batch=3).run()
    assert info.value.retryable
    assert store.get_cursor(FN) == 0
    assert [d.fd_number for d in store.outbox(FN, 1, 99)] == [1, 2, 3]  # kept for next time
    result = exporter(store, pm, paired_kkt, batch=3).run()  # an honest answer later
    assert result.cursor == 6 and store.outbox_count(FN) == 0


def test_a_refusal_mid_batch_keeps_the_cursor_before_it_and_reports_its_error(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice) -> None:
    backoffice.tamper = _replace(1, accepted=False, error="нет такого товара")
    with pytest.raises(Exception, match="нет такого товара"):
        exporter(store, pm, paired_kkt, batch=3).run()
    assert store.get_cursor(FN) == 1


def test_duplicates_are_counted(store: Store, pm: BackOfficePluginManager,
                                paired_kkt: FakeKkt, backoffice: FakeBackOffice) -> None:
    backoffice.stored[f"{FN}:2"] = ExportDocument(FN, 2, 3, {})
    result = exporter(store, pm, paired_kkt, batch=3).run()
    assert (result.exported, result.duplicates, result.cursor) == (6, 1, 6)


def _document(fd: int) -> OutboxDocument:
    return OutboxDocument(fn_number=FN, fd_number=fd, document_type=3, fns={"fd": fd},
                          raw=fake_document(3, fd))


def test_drain_stops_at_a_hole_in_the_outbox(store: Store, pm: BackOfficePluginManager,
                                             paired_kkt: FakeKkt,
                                             backoffice: FakeBackOffice) -> None:
    """ФД 1, 2 and 4 held, 3 never read: 3 must not be skipped by moving the cursor to 4."""
    store.outbox_put([_document(1), _document(2), _document(4)])
    result = exporter(store, pm, paired_kkt, batch=10).drain(FN, last_fd=6)
    assert result.cursor == store.get_cursor(FN) == 2
    assert sorted(backoffice.stored) == [f"{FN}:1", f"{FN}:2"]
    assert [d.fd_number for d in store.outbox(FN, 1, 99)] == [4]
    assert result.summary()["unsent"] == 4


def test_drain_sends_the_outbox_in_batches(store: Store, pm: BackOfficePluginManager,
                                           paired_kkt: FakeKkt,
                                           backoffice: FakeBackOffice) -> None:
    store.outbox_put([_document(n) for n in range(1, 7)])
    result = exporter(store, pm, paired_kkt, batch=4).drain(FN)
    assert (result.cursor, result.exported, result.last_fd) == (6, 6, 6)
    assert backoffice.batches == [[1, 2, 3, 4], [5, 6]]
    assert store.outbox_count(FN) == 0


def test_drain_with_nothing_held_sends_nothing(store: Store, pm: BackOfficePluginManager,
                                              paired_kkt: FakeKkt,
                                              backoffice: FakeBackOffice) -> None:
    result = exporter(store, pm, paired_kkt).drain(FN)
    assert (result.cursor, result.last_fd, result.summary()["unsent"]) == (0, 0, 0)
    assert backoffice.batches == []


def test_drain_ignores_stale_copies_at_or_below_the_cursor(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice) -> None:
    """A copy put after the cursor passed it (another process read it meanwhile) is not
    sent again and does not stop the ones after the cursor."""
    store.outbox_put([_document(1), _document(2)])
    store.acknowledge(FN, 2)
    store.outbox_put([_document(n) for n in range(1, 5)])  # 1 and 2 now stale
    result = exporter(store, pm, paired_kkt, batch=4).drain(FN)
    assert result.cursor == 4 and backoffice.batches == [[3, 4]]


def test_drain_stops_when_asked(store: Store, pm: BackOfficePluginManager,
                                paired_kkt: FakeKkt, backoffice: FakeBackOffice) -> None:
    store.outbox_put([_document(1)])
    stop = threading.Event()
    stop.set()
    result = exporter(store, pm, paired_kkt, stop=stop).drain(FN)
    assert result.stopped and result.cursor == 0 and backoffice.batches == []


def test_a_hole_before_a_document_already_in_the_outbox_is_read(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice) -> None:
    store.outbox_put([_document(3)])
    reads = paired_kkt.reads
    result = exporter(store, pm, paired_kkt, batch=3).run()
    assert result.cursor == 6
    assert backoffice.received[:3] == [f"{FN}:1", f"{FN}:2", f"{FN}:3"]
    assert backoffice.stored[f"{FN}:3"].fns == {"fd": 3}  # the outbox copy, not a re-read
    assert paired_kkt.reads == reads + 5


def test_a_register_that_skips_a_document_of_the_range_stops_the_export(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice) -> None:
    paired_kkt.skipped = {2}
    with pytest.raises(DocumentError, match="2"):
        exporter(store, pm, paired_kkt, batch=3).run()
    assert store.get_cursor(FN) == 0 and backoffice.received == []
    paired_kkt.skipped = set()
    assert exporter(store, pm, paired_kkt, batch=3).run().cursor == 6


def test_a_register_that_repeats_a_document_is_not_believed_twice(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice) -> None:
    original = paired_kkt.iter_documents

    def repeats(first: int, last: int):  # type: ignore[no-untyped-def]
        for fd, raw in original(first, last):
            yield fd, raw
            if fd == first:
                yield fd, b"\x03\x00\x02\x00??"  # the same number again, other bytes
    paired_kkt.iter_documents = repeats  # type: ignore[method-assign]
    result = exporter(store, pm, paired_kkt, batch=3).run()
    assert result.cursor == 6 and result.undecoded == 0
    assert backoffice.received == [f"{FN}:{n}" for n in range(1, 7)]


def test_the_exporter_sets_the_last_fd_and_clamps_its_batch(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice) -> None:
    assert exporter(store, pm, paired_kkt, batch=0).batch_size == 1
    assert exporter(store, pm, paired_kkt, batch=1).batch_size == 1
    exporter(store, pm, paired_kkt, batch=4).run()
    record = store.get_register(paired_kkt.identity().key)
    assert record is not None and record.last_fd_number == 6
    assert backoffice.batches == [[1, 2, 3, 4], [5, 6]]


def test_a_document_too_short_for_its_header_goes_out_as_type_0(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice) -> None:
    paired_kkt.documents.append(b"\x03")
    result = exporter(store, pm, paired_kkt).run()
    assert result.undecoded == 1
    assert backoffice.stored[f"{FN}:7"].document_type == 0
    assert backoffice.stored[f"{FN}:6"].document_type == 3


def test_a_register_that_answers_another_number_is_not_believed(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice) -> None:
    original = paired_kkt.iter_documents

    def wrong_numbers(first: int, last: int):  # type: ignore[no-untyped-def]
        for fd, raw in original(first, last):
            yield (fd + 10 if fd == 2 else fd), raw
    paired_kkt.iter_documents = wrong_numbers  # type: ignore[method-assign]
    with pytest.raises(DocumentError):
        exporter(store, pm, paired_kkt, batch=3).run()
    assert backoffice.received == [] and store.get_cursor(FN) == 0
    assert 12 not in [d.fd_number for d in store.outbox(FN, 1, 99)]  # never sent as ФД 12


def test_a_link_that_dies_mid_batch_keeps_every_document_read(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt) -> None:
    paired_kkt.read_budget = 2
    with pytest.raises(LinkError):
        exporter(store, pm, paired_kkt, batch=5).run()
    assert [d.fd_number for d in store.outbox(FN, 1, 99)] == [1, 2]


@pytest.mark.parametrize("per_run", [1, 3, 7])
def test_restarts_on_a_noisy_line_still_make_progress(
        store: Store, pm: BackOfficePluginManager, paired_kkt: FakeKkt,
        backoffice: FakeBackOffice, per_run: int) -> None:
    """Each run reads only ``per_run`` documents before the link dies (a restart every N
    seconds on a noisy line, a batch that takes longer to read than that): the backlog
    still drains, within a bounded number of runs, each document sent once."""
    for _ in range(14):
        paired_kkt.sell()  # 20 documents in all
    batch = 8
    runs = 0
    while store.get_cursor(FN) < 20:
        runs += 1
        assert runs <= 20 // per_run + 20 // batch + 2, "no progress"
        paired_kkt.read_budget = per_run
        with contextlib.suppress(LinkError):
            exporter(store, pm, paired_kkt, batch=batch).run()
    assert sorted(backoffice.received) == sorted(f"{FN}:{n}" for n in range(1, 21))
    assert paired_kkt.reads == 20  # nothing read twice


def test_a_password_in_a_back_office_url_never_reaches_the_scheduler_log(
        store: Store, paired_kkt: FakeKkt, backoffice: FakeBackOffice,
        scheduler: Scheduler, link: RegisterLink, caplog: pytest.LogCaptureFixture) -> None:
    backoffice.export_failures = [BackOfficeUnavailableError(
        "нет связи с бэк-офисом https://shop:pa55-w0rd@bo.example/api/v1/documents",
        "обмен повторится автоматически")]
    with caplog.at_level(logging.WARNING, logger="kkt_bridge"):
        (outcome,) = scheduler.run_jobs(link, paired_kkt.identity().key, [DOCUMENTS])
    assert not outcome.ok and "pa55-w0rd" not in (outcome.error or "")
    assert "https://***@bo.example" in caplog.text and "pa55-w0rd" not in caplog.text
    assert "pa55-w0rd" not in str(store.events())


def test_the_backoff_does_not_grow_while_failing_runs_make_progress(
        store: Store, paired_kkt: FakeKkt, backoffice: FakeBackOffice, scheduler: Scheduler,
        link: RegisterLink, clock: FakeClock) -> None:
    key = paired_kkt.identity().key
    for _ in range(3):  # each run gets one more document out, then the back office refuses
        backoffice.accept_limit = 1
        (outcome,) = scheduler.run_jobs(link, key, [DOCUMENTS])
        assert not outcome.ok
        assert store.get_job_run(key, DOCUMENTS).failures == 1
        assert outcome.next_run_at is not None
        assert outcome.next_run_at - clock.now() <= BACKOFF_BASE
    assert store.get_cursor(FN) == 3
    # the first of these still reads ФД 6 into the outbox (progress); then none: it grows
    for attempt in (1, 2, 3):
        backoffice.export_failures = [BackOfficeUnavailableError("500", "позже")]
        scheduler.run_jobs(link, key, [DOCUMENTS])
        assert store.get_job_run(key, DOCUMENTS).failures == attempt

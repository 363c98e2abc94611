from __future__ import annotations

import contextlib
import threading

import pytest
from bridge_fakes import SHIFT_CLOSE, FakeBackOffice, FakeKkt, fake_decoder, fake_document
from hypothesis import given, settings
from hypothesis import strategies as st

from kkt_bridge.bridge.backoffice import BackOffice
from kkt_bridge.bridge.export import DocumentExporter, document_type
from kkt_bridge.bridge.pairing import pair
from kkt_bridge.errors import BackOfficeError, DocumentError, LinkError, RateLimitedError
from kkt_bridge.pluginmanager import BackOfficePluginManager, get_plugin_manager
from kkt_bridge.store import Store

FN = "9999000011112222"


def exporter(store: Store, pm: BackOfficePluginManager, kkt: FakeKkt, batch: int = 3,
             stop: threading.Event | None = None) -> DocumentExporter:
    key = kkt.identity().key
    pairing = store.get_pairing(key)
    assert pairing is not None
    return DocumentExporter(store, kkt, BackOffice(pm, "fake"), pairing.credentials,
                            register_key=key, decoder=fake_decoder, batch_size=batch, stop=stop)


@pytest.fixture
def paired_kkt(store: Store, pm: BackOfficePluginManager, kkt: FakeKkt) -> FakeKkt:
    pair(store, pm, kkt, plugin="fake", code="123456")
    return kkt


def test_exports_everything_once_in_batches(store: Store, pm: BackOfficePluginManager,
                                           paired_kkt: FakeKkt,
                                           backoffice: FakeBackOffice) -> None:
    for _ in range(7):
        paired_kkt.sell()
    paired_kkt.documents.append(fake_document(SHIFT_CLOSE, 9))  # a shift report goes too
    result = exporter(store, pm, paired_kkt).run()
    assert (result.exported, result.cursor, result.last_fd) == (9, 9, 9)
    assert sorted(backoffice.stored) == sorted(f"{FN}:{n}" for n in range(1, 10))
    assert backoffice.stored[f"{FN}:9"].document_type == SHIFT_CLOSE
    assert backoffice.stored[f"{FN}:2"].fns == {"fd": 2, "total": 10000}
    assert store.get_cursor(FN) == 9 and store.outbox_count(FN) == 0
    again = exporter(store, pm, paired_kkt).run()
    assert again.exported == 0 and len(backoffice.received) == 9


def test_cursor_moves_only_past_the_accepted_prefix(store: Store, pm: BackOfficePluginManager,
                                                   paired_kkt: FakeKkt,
                                                   backoffice: FakeBackOffice) -> None:
    for _ in range(5):
        paired_kkt.sell()
    backoffice.accept_limit = 2
    with pytest.raises(BackOfficeError, match="ФД 3"):
        exporter(store, pm, paired_kkt, batch=4).run()
    assert store.get_cursor(FN) == 2
    assert [d.fd_number for d in store.outbox(FN, 1, 99)] == [3, 4]  # read, not acknowledged
    reads = paired_kkt.reads
    exporter(store, pm, paired_kkt, batch=4).run()
    assert store.get_cursor(FN) == 6 and len(backoffice.stored) == 6
    # 3 and 4 were re-sent from the outbox, not read from the register again
    assert paired_kkt.reads == reads + 2


def test_back_office_down_or_rate_limited_changes_nothing(store: Store,
                                                         pm: BackOfficePluginManager,
                                                         paired_kkt: FakeKkt,
                                                         backoffice: FakeBackOffice) -> None:
    paired_kkt.sell()
    backoffice.export_failures = [RateLimitedError("429", "подождите", retry_after=30)]
    with pytest.raises(RateLimitedError) as info:
        exporter(store, pm, paired_kkt).run()
    assert info.value.retry_after == 30
    assert store.get_cursor(FN) == 0 and backoffice.stored == {}
    exporter(store, pm, paired_kkt).run()
    assert len(backoffice.stored) == 2


def test_a_lost_read_fails_the_run_and_the_next_resumes(store: Store,
                                                       pm: BackOfficePluginManager,
                                                       paired_kkt: FakeKkt,
                                                       backoffice: FakeBackOffice) -> None:
    for _ in range(4):
        paired_kkt.sell()
    paired_kkt.fail_reads = {4}
    with pytest.raises(LinkError):
        exporter(store, pm, paired_kkt).run()
    assert store.get_cursor(FN) == 3
    exporter(store, pm, paired_kkt).run()
    assert sorted(backoffice.stored) == sorted(f"{FN}:{n}" for n in range(1, 6))


def test_garbled_read_is_read_again(store: Store, pm: BackOfficePluginManager,
                                    paired_kkt: FakeKkt, backoffice: FakeBackOffice) -> None:
    paired_kkt.sell()
    paired_kkt.garbled_once = {2}
    result = exporter(store, pm, paired_kkt).run()
    assert result.undecoded == 0
    assert backoffice.stored[f"{FN}:2"].fns["total"] == 10000


def test_undecodable_document_still_goes_out_raw(store: Store, pm: BackOfficePluginManager,
                                                 paired_kkt: FakeKkt,
                                                 backoffice: FakeBackOffice) -> None:
    paired_kkt.documents.append(b"\x03\x00\x02\x00??")
    result = exporter(store, pm, paired_kkt).run()
    assert result.undecoded == 1 and result.cursor == 2
    assert backoffice.stored[f"{FN}:2"].raw == b"\x03\x00\x02\x00??"
    assert backoffice.stored[f"{FN}:2"].fns["undecoded"] is True


def test_stop_ends_between_batches(store: Store, pm: BackOfficePluginManager,
                                   paired_kkt: FakeKkt) -> None:
    for _ in range(8):
        paired_kkt.sell()
    stop = threading.Event()
    stop.set()
    result = exporter(store, pm, paired_kkt, stop=stop).run()
    assert result.stopped and result.exported == 0 and store.get_cursor(FN) == 0


def test_document_type_needs_a_header() -> None:
    assert document_type(b"\x03\x00\x00\x00") == 3
    with pytest.raises(DocumentError):
        document_type(b"\x03")


@settings(max_examples=60)
@given(
    sales=st.integers(0, 20),
    batch=st.integers(1, 6),
    script=st.lists(st.one_of(st.none(), st.integers(0, 6), st.just(-1)), max_size=12),
)
def test_no_document_lost_or_duplicated_whatever_the_back_office_does(
        tmp_path_factory: pytest.TempPathFactory, sales: int, batch: int,
        script: list[int | None]) -> None:
    """Each round the back office either fails (-1), accepts a prefix (n) or all (None);
    after the script and one clean run, it holds each document exactly once and the cursor
    never passed a document it did not accept."""
    backoffice = FakeBackOffice()
    pm = get_plugin_manager(load_entrypoints=False, plugins=[backoffice])
    store = Store(tmp_path_factory.mktemp("h") / "db.sqlite3")
    kkt = FakeKkt()
    pair(store, pm, kkt, plugin="fake", code="123456")
    for _ in range(sales):
        kkt.sell()
    for step in script:
        if step == -1:
            backoffice.export_failures.append(BackOfficeError("500", "позже", retryable=True))
        else:
            backoffice.accept_limit = step
        with contextlib.suppress(BackOfficeError):
            exporter(store, pm, kkt, batch=batch).run()
        backoffice.accept_limit = None
        backoffice.export_failures.clear()
        cursor = store.get_cursor(FN)
        assert all(f"{FN}:{n}" in backoffice.stored for n in range(1, cursor + 1))
    exporter(store, pm, kkt, batch=batch).run()
    assert sorted(backoffice.stored) == sorted(f"{FN}:{n}" for n in range(1, sales + 2))
    assert store.get_cursor(FN) == sales + 1 and store.outbox_count() == 0
    store.close()


def test_document_type_of_a_bare_header() -> None:
    assert document_type(b"\x05\x00") == 5


def test_the_default_decoder_gives_the_fns_json() -> None:
    from kkt_bridge.bridge.export import fns_decoder
    from kkt_bridge.fiscal import encode_document

    fns = fns_decoder(encode_document(5, [(1040, 9), (1038, 3)]))
    assert fns == {"receiptCode": 5, "fiscalDocumentNumber": 9, "shiftNumber": 3}

"""Acceptance: pyshtrih 2.0.6 from PyPI, unmodified, drives the emulator over a pty.

pyshtrih is strict (reference §5): a submode above 5, an FF01 flag other than 0/1 or an
impossible date in 0x11 makes it raise. It is also slow to forgive: its timeouts are 3 s.
Every test here is one cash-register session of a few seconds at most.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kkt_bridge.drivers.shtrih.emulator.api import Emulator
from kkt_bridge.fiscal import Receipt, ShiftCloseReport, ShiftOpenReport, decode_document

pyshtrih = pytest.importorskip("pyshtrih")

CASHIER = 1
ADMIN = 30


@pytest.fixture
def emulator(kkt_emulator_factory: Callable[..., Emulator]) -> Emulator:
    return kkt_emulator_factory(tcp=None)


@pytest.fixture
def till(emulator: Emulator) -> Iterator[Any]:
    """The device pyshtrih itself picks from the 0xFC name, connected."""
    assert emulator.pty_path
    found = pyshtrih.discovery(port=emulator.pty_path, baudrate=115200)
    assert len(found) == 1
    device = found[0]
    device.connect()
    try:
        yield device
    finally:
        device.disconnect()


def _param(response: Any, name: str) -> Any:
    return response[name]


def _documents(emulator: Emulator) -> list[Any]:
    return [decode_document(data) for data in emulator.archive()]


def test_discovery_recognises_a_shtrih_m_01f(till: Any) -> None:
    assert isinstance(till, pyshtrih.ShtrihM01F)
    assert "М-01Ф" in till.name


def test_reads_all_statuses(till: Any, emulator: Emulator) -> None:
    state = till.state()
    full = till.full_state()
    fs = till.fs_state()
    expiry = till.fs_expiration_time()
    exchange = till.fs_info_exchange()
    unconfirmed = till.fs_unconfirmed_document_count()
    shift = till.fs_shift_params()
    model = till.model()

    assert _param(state, "Подрежим ФР").state == 0
    assert _param(state, "Режим ФР").num in (2, 4)
    assert _param(full, "Заводской номер")
    documents = emulator.archive()
    assert _param(fs, "Номер последнего ФД") == len(documents)
    assert len(_param(fs, "Номер ФН")) == 16
    assert _param(expiry, "Срок действия")
    assert _param(unconfirmed, "Количество неподтверждённых ФД") >= 0
    assert _param(exchange, "Количество сообщений для ОФД") >= 0
    assert _param(shift, "Номер смены") >= 0
    assert _param(model, "Модель устройства") == 250


def test_wrong_password_is_error_4f(emulator: Emulator) -> None:
    assert emulator.pty_path
    # no row of table 2 has the password 4321
    device = pyshtrih.ShtrihM01F(emulator.pty_path, 115200, password=4321)
    device.connect()
    try:
        with pytest.raises(pyshtrih.Error) as caught:
            device.state()
        assert caught.value.code == 0x4F
    finally:
        device.disconnect()


def test_a_day_at_the_till(till: Any, emulator: Emulator) -> None:
    """Open the shift, sell (by the piece and by weight), take cash and a card, refund,
    close the shift; then find every document by number."""
    before = len(emulator.archive())

    till.open_shift()
    till.wait_printing()
    assert _param(till.fs_shift_params(), "Состояние смены") == "смена открыта"

    # receipt 1: a loaf by the piece and 1.5 kg of apples, paid in cash with change
    till.open_check(0)
    till.sale(("Хлеб", 1000, 4990))
    till.sale(("Яблоки, кг", 1500, 12000))  # 1.500 kg x 120.00 = 180.00
    closed = till.close_check(cash=30000)
    assert _param(closed, "Сдача") == 30000 - 4990 - 18000

    # receipt 2: paid by card (payment type 2: electronic), sale opens the receipt itself
    till.sale(("Молоко", 2000, 8950))
    till.close_check(payment_type2=17900)

    # receipt 3: the apples come back
    till.open_check(2)
    till.return_sale(("Яблоки, кг", 1500, 12000))
    till.close_check(cash=18000)

    till.z_report()
    till.wait_printing()
    assert _param(till.fs_shift_params(), "Состояние смены") == "смена закрыта"

    documents = _documents(emulator)
    new = documents[before:]
    kinds = [type(doc) for doc in new]
    assert kinds == [ShiftOpenReport, Receipt, Receipt, Receipt, ShiftCloseReport]
    sale_cash, sale_card, refund = (doc for doc in new if isinstance(doc, Receipt))
    assert (sale_cash.operation_type, sale_cash.total, sale_cash.cash) == (1, 22990, 22990)
    assert [item.quantity for item in sale_cash.items][1] == pytest.approx(1.5)
    assert (sale_card.total, sale_card.electronic) == (17900, 17900)
    assert (refund.operation_type, refund.total) == (2, 18000)

    last = _param(till.fs_state(), "Номер последнего ФД")
    assert last == len(documents)
    for doc in documents:
        assert doc.fd_number is not None
        found = till.fs_find_document_by_num(doc.fd_number)
        assert _param(found, "Тип фискального документа") == doc.document_type
        data = bytes(_param(found, "Данные фискального документа"))
        # DATE_TIME 5, then ФД u32 and the fiscal sign u32, as the ФН stored them
        assert int.from_bytes(data[5:9], "little") == doc.fd_number
        assert int.from_bytes(data[9:13], "little") == doc.fiscal_sign


def test_paper_out_refuses_the_receipt_until_paper_is_back(till: Any,
                                                          emulator: Emulator) -> None:
    till.open_shift()
    till.wait_printing()
    before = len(emulator.archive())
    till.sale(("Хлеб", 1000, 4990))
    emulator.inject("paper_out")
    with pytest.raises(pyshtrih.Error) as caught:
        till.close_check(cash=4990)
    assert "0x6B" in str(caught.value)
    assert len(emulator.archive()) == before, "no paper, no document"
    emulator.inject("paper_out=0")
    till.close_check(cash=4990)
    till.wait_printing()
    assert len(emulator.archive()) == before + 1


def test_cash_in_and_out_x_report_discount_and_cancel(till: Any, emulator: Emulator) -> None:
    till.open_shift()
    till.wait_printing()
    till.income(100000)  # 1000.00 into the drawer
    till.outcome(25000)
    till.x_report()
    till.wait_printing()
    before = len(emulator.archive())

    till.open_check(0)
    till.sale(("Торт", 1000, 50000))
    till.discount(5000, text="Скидка")
    closed = till.close_check(cash=45000)
    assert _param(closed, "Сдача") == 0

    till.open_check(0)
    till.sale(("Ошибка кассира", 1000, 100))
    till.cancel_check()
    till.wait_printing()

    new = _documents(emulator)[before:]
    assert len(new) == 1, "the cancelled receipt leaves no document"
    receipt = new[0]
    assert isinstance(receipt, Receipt)
    assert receipt.total == 45000

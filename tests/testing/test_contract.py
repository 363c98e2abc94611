"""The contract checks themselves: a well-behaved plugin passes every one, and each way of
breaking the hookspecs fails the check written for it (so no check is a test that cannot
fail)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime

import pytest

from kkt_bridge.errors import AuthenticationError, PairingError
from kkt_bridge.exchange import (
    Ack,
    BackOfficeInfo,
    Catalog,
    Credentials,
    Employee,
    ExportDocument,
    Good,
    GoodsGroup,
    RegisterIdentity,
)
from kkt_bridge.fiscal import Receipt, decode_document
from kkt_bridge.hookspecs import hookimpl
from kkt_bridge.testing.contract import CHECKS, BaseHarness, run_contract, sample_receipt

NAME = "memory"


class MemoryBackOffice:
    """A back office in a dict, with switches that break one promise each."""

    def __init__(self, *, standing_code: bool = False) -> None:
        self.standing_code = standing_code
        self.codes: set[str] = set()
        self.tokens: set[str] = set()
        self.stored: dict[str, ExportDocument] = {}
        self.reuse_codes = False  # a one-time code that works twice
        self.store_repeats = False  # repeats stored again, not flagged duplicate
        self.float_prices = False
        self.log_token = False

    @hookimpl
    def backoffice_info(self) -> BackOfficeInfo:
        return BackOfficeInfo(name=NAME, title="В памяти")

    @hookimpl
    def backoffice_pair(self, backoffice: str, endpoint: str | None, code: str,
                        register: RegisterIdentity) -> Credentials | None:
        if backoffice != NAME:
            return None
        if code not in self.codes:
            raise PairingError("код синхронизации не найден", "получите новый код")
        if not (self.standing_code or self.reuse_codes):
            self.codes.discard(code)
        token = code if self.standing_code else secrets.token_hex(16)
        self.tokens.add(token)
        if self.log_token:
            logging.getLogger(__name__).info("paired with %s", token)
        return Credentials(backoffice=NAME, endpoint="memory:", token=token)

    @hookimpl
    def backoffice_check(self, backoffice: str, credentials: Credentials) -> bool | None:
        if backoffice != NAME:
            return None
        if credentials.token not in self.tokens:
            raise AuthenticationError("токен не принят", "подключите кассу заново")
        return True

    @hookimpl
    def backoffice_fetch_catalog(self, backoffice: str, credentials: Credentials,
                                 since: datetime | None) -> Catalog | None:
        if backoffice != NAME:
            return None
        price: int = 12.5 if self.float_prices else 1250  # type: ignore[assignment]
        return Catalog(groups=(GoodsGroup("g1", "Еда"), GoodsGroup("g2", "Хлеб", "g1")),
                       goods=(Good("p1", "Батон", price, "g2"),), complete=since is None)

    @hookimpl
    def backoffice_fetch_employees(self, backoffice: str,
                                   credentials: Credentials) -> list[Employee] | None:
        if backoffice != NAME:
            return None
        return [Employee("e1", "Иванова Мария")]

    @hookimpl
    def backoffice_export_documents(self, backoffice: str, credentials: Credentials,
                                    documents: Sequence[ExportDocument]) -> list[Ack] | None:
        if backoffice != NAME:
            return None
        acks = []
        for document in documents:
            if document.key in self.stored and not self.store_repeats:
                acks.append(Ack(document.key, True, duplicate=True))
                continue
            key = document.key if document.key not in self.stored else f"{document.key}+"
            self.stored[key] = document
            acks.append(Ack(document.key, True))
        return acks


class MemoryHarness(BaseHarness):
    backoffice = NAME

    def __init__(self, office: MemoryBackOffice, *, one_time_codes: bool = True) -> None:
        self.office = office
        self.one_time_codes = one_time_codes

    def plugins(self) -> Sequence[object]:
        return [self.office]

    def issue_code(self) -> str:
        code = secrets.token_hex(4)
        self.office.codes.add(code)
        return code

    def count_documents(self, credentials: Credentials) -> int:
        return len(self.office.stored)

    def state(self) -> object:
        return sorted(self.office.codes), sorted(self.office.tokens)


def failures(harness: MemoryHarness) -> set[str]:
    return {name for name, error in run_contract(harness).items() if error is not None}


def test_a_well_behaved_plugin_passes_every_check() -> None:
    assert failures(MemoryHarness(MemoryBackOffice())) == set()
    assert set(run_contract(MemoryHarness(MemoryBackOffice()))) == set(CHECKS)


def test_a_standing_code_declared_as_such_passes() -> None:
    office = MemoryBackOffice(standing_code=True)
    assert failures(MemoryHarness(office, one_time_codes=False)) == set()


@pytest.mark.parametrize(("standing", "reuse", "one_time"), [
    (False, True, True),  # a one-time code that pairs twice
    (True, False, True),  # a standing code (an API token) declared one-time
    (False, False, False),  # a one-time code declared standing: pairing again fails
])
def test_the_declared_kind_of_code_is_held_to(standing: bool, reuse: bool,
                                              one_time: bool) -> None:
    office = MemoryBackOffice(standing_code=standing)
    office.reuse_codes = reuse
    assert failures(MemoryHarness(office, one_time_codes=one_time)) == {"code_works_once"}


def test_storing_a_repeat_twice_fails() -> None:
    office = MemoryBackOffice()
    office.store_repeats = True
    assert "reexport_is_duplicate_not_stored" in failures(MemoryHarness(office))


def test_prices_that_are_not_kopecks_fail() -> None:
    office = MemoryBackOffice()
    office.float_prices = True
    assert "catalog" in failures(MemoryHarness(office))


def test_a_token_in_the_log_fails() -> None:
    office = MemoryBackOffice()
    office.log_token = True
    assert "no_token_in_logs" in failures(MemoryHarness(office))


@pytest.mark.parametrize(("fd_number", "items"), [(1, 1), (2, 2), (77, 5), (65_000, 3)])
def test_sample_receipts_are_real_receipts_in_the_bridges_json(fd_number: int,
                                                                 items: int) -> None:
    fn_number = "9999078900012345"
    doc = sample_receipt(fn_number, fd_number, rnm="0000000001012345", items=items)
    decoded = decode_document(doc.raw)  # the bytes are a receipt the bridge's decoder reads
    assert isinstance(decoded, Receipt) and decoded.document_type == doc.document_type == 3
    fns = doc.fns  # flat, as kkt_bridge.fiscal.to_fns_json makes it: no {"receipt": ...}
    assert fns["receiptCode"] == 3 and fns["fiscalDocumentNumber"] == fd_number
    assert fns["fiscalDriveNumber"] == fn_number and fns["kktRegId"] == "0000000001012345"
    assert len(fns["items"]) == items
    assert sum(i["sum"] for i in fns["items"]) == fns["totalSum"] == \
        fns["cashTotalSum"] + fns["ecashTotalSum"]
    assert all(isinstance(i["quantity"], str) for i in fns["items"])  # FVLN: decimal text
    assert doc.key == f"{fn_number}:{fd_number}"

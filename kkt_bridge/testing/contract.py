"""Contract tests every back-office plugin must pass, shipped as a pytest helper.

A vendor proves a plugin in a few lines (see docs/plugins.md)::

    from kkt_bridge.testing.contract import BackOfficeContract, BaseHarness

    class MyHarness(BaseHarness):
        backoffice = "mybo"
        def plugins(self): return [MyPlugin(transport=fake_server.transport)]
        def issue_code(self): return fake_server.new_code()
        def count_documents(self, credentials): return fake_server.stored(credentials)

    class TestMyPluginContract(BackOfficeContract):
        @pytest.fixture
        def backoffice_harness(self):
            return MyHarness()

Every check runs the plugin through :func:`kkt_bridge.pluginmanager.call_backoffice`, the
same way the bridge calls it. The checks are also plain functions (:data:`CHECKS`), so
:func:`run_contract` can run them outside pytest.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kkt_bridge.errors import AuthenticationError, PairingError
from kkt_bridge.exchange import (
    Ack,
    Catalog,
    Credentials,
    Employee,
    ExportDocument,
    RegisterIdentity,
)
from kkt_bridge.fiscal import WireType, decode_document, tag_spec, to_fns_json
from kkt_bridge.pluginmanager import (
    OK,
    BackOfficePluginManager,
    call_backoffice,
    get_plugin_manager,
)

CONTRACT_REGISTER = RegisterIdentity(
    serial="0012345678901234", fn_number="9999078900012345", model="ШТРИХ-М-01Ф",
    inn="7700000000", rnm="0000000001012345", installation_id="contract-test")


# --- sample fiscal documents ----------------------------------------------------------------


SALE_RECEIPT = 3


def _value_bytes(tag: int, value: Any, parent: int) -> bytes:
    """One requisite's value on the wire, by its FFD type (the few types a receipt uses)."""
    spec = tag_spec(tag, parent)
    assert spec is not None, tag
    kind = spec.type
    if kind in (WireType.BYTE, WireType.U16, WireType.U32):
        return int(value).to_bytes({WireType.BYTE: 1, WireType.U16: 2, WireType.U32: 4}[kind],
                                   "little")
    if kind is WireType.UNIXTIME:
        return int((value - datetime(1970, 1, 1)).total_seconds()).to_bytes(4, "little")
    if kind is WireType.VLN:
        return int(value).to_bytes((int(value).bit_length() + 7) // 8, "little")
    if kind is WireType.FVLN:
        scale, mantissa = value  # (digits after the point, the digits as an integer)
        return bytes([scale]) + mantissa.to_bytes((mantissa.bit_length() + 7) // 8, "little")
    if kind is WireType.STRING:
        return str(value).encode("cp866")
    if kind is WireType.STLV:
        return b"".join(_tlv(t, _value_bytes(t, v, tag)) for t, v in value)
    assert kind in (WireType.BYTES, WireType.FISCAL_SIGN), kind
    return bytes(value)


def _tlv(tag: int, value: bytes) -> bytes:
    return struct.pack("<HH", tag, len(value)) + value


def sample_receipt(fn_number: str, fd_number: int, *, rnm: str = "0000000001012345",
                   inn: str = "7700000000", when: datetime | None = None,
                   shift: int = 1, items: int = 2) -> ExportDocument:
    """A sale receipt (ФД type 3, FFD 1.05) exactly as the bridge exports one: ``raw`` is
    the document's TLV bytes as the ФН archive returns them, and ``fns`` is what the bridge's
    own decoder makes of them (:func:`kkt_bridge.fiscal.to_fns_json`, the flat FNS receipt
    JSON: ``receiptCode``, kopecks, quantities as decimal strings). Totals add up."""
    moment = when or datetime(2026, 11, 24, 10, 0, tzinfo=UTC) + timedelta(minutes=fd_number)
    local = moment.replace(tzinfo=None, microsecond=0)  # the ФН keeps wall-clock time
    lines: list[tuple[tuple[int, Any], ...]] = []
    total = 0
    for n in range(items):
        price = 4500 + 1000 * ((fd_number + n) % 7)
        quantity = 1 + (n % 2)
        total += price * quantity
        lines.append(((1214, 4), (1212, 1), (1030, f"Товар {n + 1}"), (1079, price),
                      (1023, (3, quantity * 1000)), (1199, 6), (1043, price * quantity),
                      (1197, "шт")))
    cash = total if fd_number % 2 else 0
    sign = (fd_number * 2654435761) % 4294967296
    tags: list[tuple[int, Any]] = [
        (1000, "КАССОВЫЙ ЧЕК"), (1209, 2), (1048, 'ООО "Ромашка"'), (1018, inn.ljust(12)),
        (1042, fd_number), (1012, local), (1038, shift), (1054, 1), (1055, 1),
        (1021, "Иванова Мария Петровна"), (1037, rnm.ljust(20)),
        (1009, "г. Москва, ул. Ленина, д. 1"), (1187, "Магазин на Ленина"),
        *((1059, line) for line in lines),
        (1020, total), (1031, cash), (1081, total - cash), (1215, 0), (1216, 0), (1217, 0),
        (1060, "www.nalog.gov.ru"), (1040, fd_number), (1041, fn_number),
        (1077, b"\x31\x04" + sign.to_bytes(4, "big")),
    ]
    body = b"".join(_tlv(tag, _value_bytes(tag, value, SALE_RECEIPT)) for tag, value in tags)
    raw = struct.pack("<HH", SALE_RECEIPT, len(body)) + body
    return ExportDocument(fn_number=fn_number, fd_number=fd_number,
                          document_type=SALE_RECEIPT, fns=to_fns_json(decode_document(raw)),
                          raw=raw)


def sample_documents(register: RegisterIdentity, count: int, *, start: int = 1
                     ) -> list[ExportDocument]:
    return [sample_receipt(register.fn_number, fd, rnm=register.rnm or "0000000001012345",
                           inn=register.inn or "7700000000") for fd in range(start, start + count)]


# --- the harness a vendor writes ------------------------------------------------------------


class BaseHarness:
    """How the contract reaches a back office. Override the methods marked *required*."""

    #: the back-office name the plugin answers for (its ``backoffice_info().name``)
    backoffice: str = ""
    #: the endpoint passed to ``backoffice_pair`` (None: the plugin's default)
    endpoint: str | None = None
    #: the register that pairs
    register: RegisterIdentity = CONTRACT_REGISTER
    #: documents exported by the "many" check (more than one request's worth if you can)
    many_documents: int = 120
    #: the next ФД number the checks export (each check takes fresh numbers)
    next_fd: int = 1
    #: True: a sync code pairs once and then is spent (the reference back office, «Мои
    #: Кассы»). False: the vendor's "code" is a standing credential, e.g. an API token
    #: (MoySklad), and pairing again with it must work (reinstalling the cash software).
    #: The "code works once" check proves whichever the harness declares.
    one_time_codes: bool = True
    #: the credentials of the register's last pairing, which the next one shows as proof
    current: Credentials | None = None

    def plugins(self) -> Sequence[object]:  # required
        raise NotImplementedError

    def issue_code(self) -> str:  # required: a fresh, valid one-time sync code
        raise NotImplementedError

    def count_documents(self, credentials: Credentials) -> int:  # required
        """How many documents the back office holds for this pairing (its own count)."""
        raise NotImplementedError

    def bad_code(self) -> str:
        """A code the back office has never issued."""
        return "0000-0000"

    def state(self) -> object:
        """A snapshot of what pairing may change (registers, codes); compared before and
        after a refused pairing. The default sees nothing: override it if you can."""
        return None

    def documents(self, count: int, *, start: int = 1) -> list[ExportDocument]:
        return sample_documents(self.register, count, start=start)

    def close(self) -> None:
        """Release what the harness started (servers, clients)."""


@dataclass
class Contract:
    """A plugin under test, wired into a plugin manager the way the bridge wires it."""

    harness: BaseHarness
    pm: BackOfficePluginManager

    @property
    def name(self) -> str:
        return self.harness.backoffice

    def call(self, hook: str, **kwargs: Any) -> Any:
        return call_backoffice(self.pm, hook, backoffice=self.name, **kwargs)

    def pair(self, code: str | None = None) -> Credentials:
        """Pair the harness's register as the bridge does: a re-pairing shows the
        credentials of the last one (a back office may want them as proof)."""
        code = self.harness.issue_code() if code is None else code
        credentials = self.call("backoffice_pair", endpoint=self.harness.endpoint, code=code,
                                register=self.harness.register, current=self.harness.current)
        assert isinstance(credentials, Credentials)
        self.harness.current = credentials
        return credentials

    def export(self, credentials: Credentials, documents: Sequence[ExportDocument]) -> list[Ack]:
        acks = self.call("backoffice_export_documents", credentials=credentials,
                         documents=list(documents))
        assert isinstance(acks, list)
        return acks

    def new_documents(self, count: int) -> list[ExportDocument]:
        # the counter lives on the harness: several contracts may share one back office
        start = self.harness.next_fd
        self.harness.next_fd += count
        return self.harness.documents(count, start=start)


def make_contract(harness: BaseHarness) -> Contract:
    pm = get_plugin_manager(load_entrypoints=False, plugins=harness.plugins())
    broken = [r for r in pm.records if r.status != OK]
    assert not broken, f"плагин не загрузился: {broken}"
    return Contract(harness, pm)


# --- the checks -----------------------------------------------------------------------------


def check_info(c: Contract) -> None:
    infos = c.pm.hook.backoffice_info()
    assert c.name in [i.name for i in infos], f"backoffice_info не называет {c.name!r}"


def check_other_backoffice_ignored(c: Contract) -> None:
    """Answer hooks return None for a back office that is not this plugin's."""
    credentials = Credentials(backoffice="no-such", endpoint="http://127.0.0.1:9", token="x")
    hook = c.pm.hook
    other = "no-such-backoffice"
    assert hook.backoffice_pair(backoffice=other, endpoint=None, code="1",
                                register=c.harness.register, current=None) is None
    assert hook.backoffice_check(backoffice=other, credentials=credentials) is None
    assert hook.backoffice_fetch_catalog(backoffice=other, credentials=credentials,
                                         since=None) is None
    assert hook.backoffice_fetch_employees(backoffice=other, credentials=credentials) is None
    assert hook.backoffice_export_documents(backoffice=other, credentials=credentials,
                                            documents=[]) is None


def check_pair_returns_secret_credentials(c: Contract) -> None:
    credentials = c.pair()
    assert credentials.token, "пустой токен"
    assert credentials.backoffice == c.name
    assert credentials.token not in repr(credentials), "токен виден в repr"
    assert credentials.token not in str(credentials.redacted()), "токен виден в redacted()"


def check_code_works_once(c: Contract) -> None:
    """A one-time code pairs once; a standing one (``one_time_codes = False``) pairs again,
    and the second pairing's credentials work."""
    code = c.harness.issue_code()
    c.pair(code)
    if not c.harness.one_time_codes:
        again = c.pair(code)
        assert c.call("backoffice_check", credentials=again) is True, \
            "повторное подключение с постоянным кодом не дало рабочих учётных данных"
        return
    before = c.harness.state()
    with pytest.raises(PairingError):
        c.pair(code)
    assert c.harness.state() == before, "повторный код что-то изменил"


def check_bad_code_changes_nothing(c: Contract) -> None:
    before = c.harness.state()
    with pytest.raises(PairingError) as info:
        c.pair(c.harness.bad_code())
    assert info.value.message, "у ошибки нет сообщения"
    assert c.harness.state() == before, "неверный код что-то изменил"


def check_credentials_accepted(c: Contract) -> None:
    assert c.call("backoffice_check", credentials=c.pair()) is True


def check_wrong_token_refused_without_leak(c: Contract) -> None:
    good = c.pair()
    wrong_token = "W" + good.token[1:] if good.token[:1] != "W" else "X" + good.token[1:]
    wrong = replace(good, token=wrong_token)
    with pytest.raises(AuthenticationError) as info:
        c.call("backoffice_check", credentials=wrong)
    text = f"{info.value} {info.value.hint}"
    assert wrong_token not in text and good.token not in text, "токен попал в сообщение"


def check_catalog(c: Contract) -> None:
    catalog = c.call("backoffice_fetch_catalog", credentials=c.pair(), since=None)
    assert isinstance(catalog, Catalog)
    assert catalog.complete, "полный каталог должен быть complete=True"
    assert catalog.goods, "в тестовом бэк-офисе нет товаров: проверка ничего не докажет"
    _check_catalog_shape(catalog, known_groups=set())


def check_catalog_since(c: Contract) -> None:
    credentials = c.pair()
    full = c.call("backoffice_fetch_catalog", credentials=credentials, since=None)
    delta = c.call("backoffice_fetch_catalog", credentials=credentials,
                   since=datetime.now(UTC) - timedelta(seconds=1))
    assert isinstance(delta, Catalog)
    _check_catalog_shape(delta, known_groups={g.id for g in full.groups})


def _check_catalog_shape(catalog: Catalog, known_groups: set[str]) -> None:
    ids = [g.id for g in catalog.groups]
    assert len(ids) == len(set(ids)), "повторяются id групп"
    groups = {g.id: g for g in catalog.groups}
    every = set(groups) | known_groups
    for group in catalog.groups:
        assert group.name, f"группа {group.id} без названия"
        assert group.parent_id is None or group.parent_id in every, \
            f"родитель {group.parent_id} группы {group.id} не существует"
        seen, node = set(), group
        for _depth in range(len(groups) + 1):  # a cycle never reaches the root
            if node.parent_id is None or node.parent_id not in groups:
                break
            assert node.id not in seen, f"цикл в иерархии групп у {group.id}"
            seen.add(node.id)
            node = groups[node.parent_id]
        else:
            raise AssertionError(f"цикл в иерархии групп у {group.id}")
    good_ids = [g.id for g in catalog.goods]
    assert len(good_ids) == len(set(good_ids)), "повторяются id товаров"
    for good in catalog.goods:
        assert type(good.price) is int and good.price >= 0, \
            f"цена товара {good.id} не целые копейки: {good.price!r}"
        assert good.name, f"товар {good.id} без названия"
        assert good.group_id is None or good.group_id in every, \
            f"группа {good.group_id} товара {good.id} не существует"
        assert all(isinstance(b, str) and b for b in good.barcodes)


def check_employees(c: Contract) -> None:
    employees = c.call("backoffice_fetch_employees", credentials=c.pair())
    assert isinstance(employees, list) and employees, "нет сотрудников"
    assert all(isinstance(e, Employee) and e.id and e.name for e in employees)
    assert len({e.id for e in employees}) == len(employees), "повторяются id сотрудников"
    assert all(e.role in ("cashier", "admin") for e in employees)


def check_export_acks_in_order(c: Contract) -> None:
    credentials = c.pair()
    before = c.harness.count_documents(credentials)
    docs = c.new_documents(5)
    acks = c.export(credentials, docs)
    assert [a.key for a in acks] == [d.key for d in docs], "подтверждения не по порядку"
    assert all(a.accepted and not a.duplicate for a in acks), acks
    assert c.harness.count_documents(credentials) == before + 5


def check_reexport_is_duplicate_not_stored(c: Contract) -> None:
    credentials = c.pair()
    docs = c.new_documents(4)
    c.export(credentials, docs)
    stored = c.harness.count_documents(credentials)
    again = c.export(credentials, docs)
    assert all(a.accepted and a.duplicate for a in again), again
    assert c.harness.count_documents(credentials) == stored, "повтор сохранён второй раз"
    fresh = c.new_documents(2)
    mixed = c.export(credentials, [docs[0], *fresh, docs[1]])
    assert [(a.accepted, a.duplicate) for a in mixed] == \
        [(True, True), (True, False), (True, False), (True, True)], mixed
    assert c.harness.count_documents(credentials) == stored + 2


def check_export_many(c: Contract) -> None:
    credentials = c.pair()
    before = c.harness.count_documents(credentials)
    docs = c.new_documents(c.harness.many_documents)
    acks = c.export(credentials, docs)
    assert [a.key for a in acks] == [d.key for d in docs]
    assert all(a.accepted for a in acks)
    assert c.harness.count_documents(credentials) == before + len(docs)


def check_no_token_in_logs(c: Contract) -> None:
    handler = _Capture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        credentials = c.pair()
        c.call("backoffice_check", credentials=credentials)
        c.export(credentials, c.new_documents(2))
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    assert all(credentials.token not in line for line in handler.lines), "токен попал в журнал"


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


CHECKS: dict[str, Callable[[Contract], None]] = {
    "info": check_info,
    "other_backoffice_ignored": check_other_backoffice_ignored,
    "pair_returns_secret_credentials": check_pair_returns_secret_credentials,
    "code_works_once": check_code_works_once,
    "bad_code_changes_nothing": check_bad_code_changes_nothing,
    "credentials_accepted": check_credentials_accepted,
    "wrong_token_refused_without_leak": check_wrong_token_refused_without_leak,
    "catalog": check_catalog,
    "catalog_since": check_catalog_since,
    "employees": check_employees,
    "export_acks_in_order": check_export_acks_in_order,
    "reexport_is_duplicate_not_stored": check_reexport_is_duplicate_not_stored,
    "export_many": check_export_many,
    "no_token_in_logs": check_no_token_in_logs,
}


def run_contract(harness: BaseHarness) -> dict[str, BaseException | None]:
    """Run every check outside pytest; the value is the failure, or None for a pass."""
    results: dict[str, BaseException | None] = {}
    try:
        for name, check in CHECKS.items():
            try:
                check(make_contract(harness))
                results[name] = None
            except (AssertionError, Exception, pytest.fail.Exception) as exc:
                results[name] = exc
    finally:
        harness.close()
    return results


# --- pytest glue ----------------------------------------------------------------------------


@pytest.fixture
def backoffice_contract(backoffice_harness: BaseHarness) -> Iterator[Contract]:
    """The plugin under test, from the ``backoffice_harness`` fixture the vendor defines."""
    try:
        yield make_contract(backoffice_harness)
    finally:
        backoffice_harness.close()


class BackOfficeContract:
    """Subclass as ``Test...`` and define a ``backoffice_harness`` fixture: every check
    becomes one test."""

    def test_info(self, backoffice_contract: Contract) -> None:
        check_info(backoffice_contract)

    def test_other_backoffice_ignored(self, backoffice_contract: Contract) -> None:
        check_other_backoffice_ignored(backoffice_contract)

    def test_pair_returns_secret_credentials(self, backoffice_contract: Contract) -> None:
        check_pair_returns_secret_credentials(backoffice_contract)

    def test_code_works_once(self, backoffice_contract: Contract) -> None:
        check_code_works_once(backoffice_contract)

    def test_bad_code_changes_nothing(self, backoffice_contract: Contract) -> None:
        check_bad_code_changes_nothing(backoffice_contract)

    def test_credentials_accepted(self, backoffice_contract: Contract) -> None:
        check_credentials_accepted(backoffice_contract)

    def test_wrong_token_refused_without_leak(self, backoffice_contract: Contract) -> None:
        check_wrong_token_refused_without_leak(backoffice_contract)

    def test_catalog(self, backoffice_contract: Contract) -> None:
        check_catalog(backoffice_contract)

    def test_catalog_since(self, backoffice_contract: Contract) -> None:
        check_catalog_since(backoffice_contract)

    def test_employees(self, backoffice_contract: Contract) -> None:
        check_employees(backoffice_contract)

    def test_export_acks_in_order(self, backoffice_contract: Contract) -> None:
        check_export_acks_in_order(backoffice_contract)

    def test_reexport_is_duplicate_not_stored(self, backoffice_contract: Contract) -> None:
        check_reexport_is_duplicate_not_stored(backoffice_contract)

    def test_export_many(self, backoffice_contract: Contract) -> None:
        check_export_many(backoffice_contract)

    def test_no_token_in_logs(self, backoffice_contract: Contract) -> None:
        check_no_token_in_logs(backoffice_contract)


__all__ = [
    "CHECKS",
    "CONTRACT_REGISTER",
    "BackOfficeContract",
    "BaseHarness",
    "Contract",
    "backoffice_contract",
    "make_contract",
    "run_contract",
    "sample_documents",
    "sample_receipt",
]

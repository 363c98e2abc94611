"""The sync jobs, one per event: goods, employees, documents.

Each job is one transaction on the store (or, for documents, one per acknowledged batch):
the catalog is replaced whole or not at all, employees likewise.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from kkt_bridge.bridge.backoffice import BackOffice
from kkt_bridge.bridge.export import (
    DEFAULT_BATCH,
    Decoder,
    DocumentExporter,
    ExportResult,
    fns_decoder,
)
from kkt_bridge.errors import BackOfficeError, DeviceError, DocumentError, KktBridgeError
from kkt_bridge.exchange import Catalog, Credentials, RegisterIdentity
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Capability, Kkt, capabilities_of
from kkt_bridge.store import Store

log = logging.getLogger(__name__)

GOODS = "goods"
EMPLOYEES = "employees"
DOCUMENTS = "documents"
#: documents first: a receipt waiting is worth more than a fresh price list
JOBS: tuple[str, ...] = (DOCUMENTS, GOODS, EMPLOYEES)

#: event kind: a replaced ФН still holds documents the bridge never read
UNREAD = "fn_unread"

JOB_TITLES = {GOODS: "экспорт товаров", EMPLOYEES: "экспорт сотрудников",
              DOCUMENTS: "экспорт чеков"}


@dataclass
class JobContext:
    store: Store
    kkt: Kkt
    backoffice: BackOffice
    credentials: Credentials
    register_key: str
    register: RegisterIdentity
    decoder: Decoder = fns_decoder
    batch_size: int = DEFAULT_BATCH
    stop: threading.Event | None = None
    #: the register at the link now holds another ФН than this pairing's (a ФН swap): only
    #: what the outbox kept of the old ФН can still be exported
    fn_replaced: bool = False


def check_catalog(catalog: Catalog, known_groups: set[str]) -> None:
    """Refuse a catalog whose references do not resolve: it would replace a good one."""
    group_ids = [g.id for g in catalog.groups]
    ids = set(group_ids) | (set() if catalog.complete else known_groups)
    problems: list[str] = []
    if len(set(group_ids)) != len(group_ids):
        problems.append(_("повторяющиеся группы"))
    good_ids = [g.id for g in catalog.goods]
    if len(set(good_ids)) != len(good_ids):
        problems.append(_("повторяющиеся товары"))
    problems += [_("группа {id}: нет родителя {parent}").format(id=g.id, parent=g.parent_id)
                 for g in catalog.groups if g.parent_id is not None and g.parent_id not in ids]
    problems += [_("товар {id}: нет группы {group}").format(id=g.id, group=g.group_id)
                 for g in catalog.goods if g.group_id is not None and g.group_id not in ids]
    problems += [_("товар {id}: цена {price}").format(id=g.id, price=g.price)
                 for g in catalog.goods if g.price < 0]
    if problems:
        raise BackOfficeError(
            _("бэк-офис прислал некорректный каталог: {problems}").format(
                problems="; ".join(problems[:5])),
            _("каталог кассы не изменён; исправьте товары в бэк-офисе"))


def import_goods(ctx: JobContext) -> dict[str, int]:
    if ctx.fn_replaced or not ctx.store.get_settings(ctx.register_key).goods_sync:
        return {"skipped": 1}
    catalog = ctx.backoffice.fetch_catalog(ctx.credentials, since=None)
    known = {g.group.id for g in ctx.store.groups(ctx.register_key)}
    check_catalog(catalog, known)
    ctx.store.replace_catalog(ctx.register_key, catalog.groups, catalog.goods,
                              complete=catalog.complete)
    return {"goods": len(catalog.goods), "groups": len(catalog.groups)}


def import_employees(ctx: JobContext) -> dict[str, int]:
    if ctx.fn_replaced or not ctx.store.get_settings(ctx.register_key).employees_period:
        return {"skipped": 1}
    employees = ctx.backoffice.fetch_employees(ctx.credentials)
    if len({e.id for e in employees}) != len(employees):
        raise BackOfficeError(_("бэк-офис прислал повторяющихся сотрудников"),
                              _("список сотрудников кассы не изменён"))
    ctx.store.replace_employees(ctx.register_key, employees)
    if Capability.CASHIER_TABLE not in capabilities_of(ctx.kkt):
        # ATOL: no cashier table; the list stays in the bridge for the cash software, which
        # writes the cashier (tags 1021/1203) into each document itself
        ctx.store.log_event(ctx.register_key, "cashiers", _(
            "у ККТ нет таблицы кассиров: список сотрудников ({count}) сохранён в мосте, "
            "кассовая программа указывает кассира в каждом чеке").format(count=len(employees)))
        return {"employees": len(employees), "cashiers_kept_in_bridge": len(employees)}
    return {"employees": len(employees), "cashiers_written": _write_cashiers(ctx)}


def _write_cashiers(ctx: JobContext) -> int:
    """Put the employees' names into the register's cashier rows, in order; a row already
    holding the name is left alone (the table lives in flash). Where the driver cannot,
    the employees are still imported."""
    employees = ctx.store.employees(ctx.register_key)
    try:
        current = {c.row: c.name for c in ctx.kkt.read_cashiers()}
        rows = sorted(current)
        written = 0
        for row, employee in zip(rows, employees, strict=False):
            if current.get(row) != employee.name:
                ctx.kkt.write_cashier(row, employee.name)
                written += 1
        return written
    except (NotImplementedError, DeviceError) as exc:
        message = exc.message if isinstance(exc, KktBridgeError) else str(exc)
        ctx.store.log_event(ctx.register_key, "cashiers",
                            _("имена кассиров не записаны в ККТ: {error}").format(
                                error=message or _("драйвер не умеет")))
        return 0


def _exporter(ctx: JobContext, register_key: str, credentials: Credentials,
              backoffice: BackOffice) -> DocumentExporter:
    return DocumentExporter(ctx.store, ctx.kkt, backoffice, credentials,
                            register_key=register_key, decoder=ctx.decoder,
                            batch_size=ctx.batch_size, stop=ctx.stop)


def _unread_error(fn_number: str, first: int, last: int) -> DocumentError:
    return DocumentError(
        _("ФН {fn} заменён, а его документы {first}–{last} не были прочитаны и не выгружены")
        .format(fn=fn_number, first=first, last=last),
        _("они хранятся в старом ФН: установите его обратно (или прочитайте его архив) и "
          "выполните «kkt-bridge sync now»"))


def drain_replaced(ctx: JobContext, register_key: str, fn_number: str,
                   credentials: Credentials,
                   backoffice: BackOffice) -> tuple[ExportResult, DocumentError | None, bool]:
    """Export the outbox of a ФН that left the register. Returns the result, the error
    naming the documents it never gave (None when all went out), and whether that error
    is news (the event log has it only once)."""
    record = ctx.store.get_register(register_key)
    result = _exporter(ctx, register_key, credentials, backoffice).drain(
        fn_number, record.last_fd_number if record else None)
    if result.cursor >= result.last_fd or result.stopped:
        return result, None, False
    error = _unread_error(fn_number, result.cursor + 1, result.last_fd)
    previous = ctx.store.last_event(register_key, UNREAD)
    news = previous is None or (previous.data.get("first"), previous.data.get("last")) != (
        result.cursor + 1, result.last_fd)
    if news:
        ctx.store.log_event(register_key, UNREAD, str(error), fn_number=fn_number,
                            first=result.cursor + 1, last=result.last_fd)
    return result, error, news


def export_documents(ctx: JobContext) -> dict[str, int]:
    if ctx.fn_replaced:
        # this pairing's ФН is gone from the register: only its outbox is left to send
        old, error, _news = drain_replaced(ctx, ctx.register_key, ctx.register.fn_number,
                                           ctx.credentials, ctx.backoffice)
        if error is not None:
            raise error
        return {**old.summary(), "fn_replaced": 1}
    # first what earlier ФН of this register left behind (a ФН swap during a failed or
    # interrupted export): read once, those documents can be sent from nowhere else
    pending: KktBridgeError | None = None
    replaced = 0
    for record in ctx.store.registers():
        if record.serial != ctx.register.serial or record.fn_number == ctx.register.fn_number:
            continue
        pairing = ctx.store.get_pairing(record.register_key)
        outbox = ctx.store.outbox_count(record.fn_number)
        cursor = ctx.store.get_cursor(record.fn_number)
        if not (outbox or (pairing is not None and (record.last_fd_number or 0) > cursor)):
            continue  # all out, or a ФН the bridge only saw and was never asked to export
        credentials = pairing.credentials if pairing else ctx.credentials
        backoffice = BackOffice(ctx.backoffice.pm, credentials.backoffice)
        try:
            result, error, news = drain_replaced(ctx, record.register_key, record.fn_number,
                                                 credentials, backoffice)
            replaced += result.exported
            if error is not None and news:
                pending = pending or error  # said once; the event log and status keep it
        except KktBridgeError as exc:  # the current ФН must not wait behind the old one
            log.warning("ФН %s (replaced): %s", record.fn_number, exc)
            pending = pending or exc
    summary = _exporter(ctx, ctx.register_key, ctx.credentials, ctx.backoffice).run().summary()
    if replaced:
        summary["replaced_fn_exported"] = replaced
    if pending is not None:
        raise pending
    return summary


RUNNERS: dict[str, Callable[[JobContext], dict[str, int]]] = {
    GOODS: import_goods,
    EMPLOYEES: import_employees,
    DOCUMENTS: export_documents,
}

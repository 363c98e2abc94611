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
from kkt_bridge.bridge.export import DEFAULT_BATCH, Decoder, DocumentExporter, fns_decoder
from kkt_bridge.errors import BackOfficeError, DeviceError, KktBridgeError
from kkt_bridge.exchange import Catalog, Credentials, RegisterIdentity
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.store import Store

log = logging.getLogger(__name__)

GOODS = "goods"
EMPLOYEES = "employees"
DOCUMENTS = "documents"
#: documents first: a receipt waiting is worth more than a fresh price list
JOBS: tuple[str, ...] = (DOCUMENTS, GOODS, EMPLOYEES)

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
    if not ctx.store.get_settings(ctx.register_key).goods_sync:
        return {"skipped": 1}
    catalog = ctx.backoffice.fetch_catalog(ctx.credentials, since=None)
    known = {g.group.id for g in ctx.store.groups(ctx.register_key)}
    check_catalog(catalog, known)
    ctx.store.replace_catalog(ctx.register_key, catalog.groups, catalog.goods,
                              complete=catalog.complete)
    return {"goods": len(catalog.goods), "groups": len(catalog.groups)}


def import_employees(ctx: JobContext) -> dict[str, int]:
    if not ctx.store.get_settings(ctx.register_key).employees_period:
        return {"skipped": 1}
    employees = ctx.backoffice.fetch_employees(ctx.credentials)
    if len({e.id for e in employees}) != len(employees):
        raise BackOfficeError(_("бэк-офис прислал повторяющихся сотрудников"),
                              _("список сотрудников кассы не изменён"))
    ctx.store.replace_employees(ctx.register_key, employees)
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


def export_documents(ctx: JobContext) -> dict[str, int]:
    exporter = DocumentExporter(ctx.store, ctx.kkt, ctx.backoffice, ctx.credentials,
                                register_key=ctx.register_key, decoder=ctx.decoder,
                                batch_size=ctx.batch_size, stop=ctx.stop)
    return exporter.run().summary()


RUNNERS: dict[str, Callable[[JobContext], dict[str, int]]] = {
    GOODS: import_goods,
    EMPLOYEES: import_employees,
    DOCUMENTS: export_documents,
}

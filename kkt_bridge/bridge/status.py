"""The bridge side of a register as a plain dict (scripts and tests); the figures come
from :mod:`kkt_bridge.bridge.figures`, as on the page and in ``kkt-bridge status``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from kkt_bridge.bridge import figures
from kkt_bridge.bridge.jobs import JOB_TITLES, JOBS
from kkt_bridge.bridge.periods import period_label
from kkt_bridge.bridge.scheduler import job_period, planned_run
from kkt_bridge.bridge.settings import RECEIPTS_AUTOMATIC
from kkt_bridge.i18n import _
from kkt_bridge.store import RegisterRecord, Store, db_path


def _when(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).astimezone().isoformat(timespec="seconds")


def bridge_status(store: Store, register_key: str, *,
                  last_fd_number: int | None = None) -> dict[str, Any]:
    """Pairing (without the token), periods, last and next runs, unsent documents.

    ``last_fd_number`` is the ФН's current last ФД when the caller just read it; otherwise
    the number the bridge saw last is used."""
    record = store.get_register(register_key)
    pairing = store.get_pairing(register_key)
    settings = store.get_settings(register_key)
    result: dict[str, Any] = {"register_key": register_key,
                              "installation_id": store.installation_id}
    if pairing is None:
        result["pairing"] = None
    else:
        creds = pairing.credentials
        result["pairing"] = {"backoffice": creds.backoffice, "endpoint": creds.endpoint,
                             "account": creds.account, "shop": creds.shop,
                             "paired_at": _when(pairing.paired_at)}
    result["settings"] = {
        "goods": period_label(settings.goods_period),
        "employees": period_label(settings.employees_period),
        "receipts": _(RECEIPTS_AUTOMATIC),
        "receipts_interval": settings.receipts_interval,
    }
    jobs: dict[str, Any] = {}
    for job in JOBS:
        run = store.get_job_run(register_key, job)
        enabled = job_period(settings, job) > 0
        next_at = planned_run(store, register_key, job, time.time(), settings) if pairing else None
        jobs[job] = {"title": _(JOB_TITLES[job]), "enabled": enabled,
                     "last_run": _when(run.last_run_at),
                     "last_success": _when(run.last_success_at),
                     "next_run": _when(next_at), "failures": run.failures,
                     "last_error": run.last_error}
    result["jobs"] = jobs
    fn_number = record.fn_number if record else register_key.partition(":")[2]
    last = last_fd_number if last_fd_number is not None else (
        record.last_fd_number if record else None)
    backlog = figures.backlog(store, fn_number, last)
    cursor = backlog.cursor
    result["export"] = {"fn_number": fn_number, "cursor": cursor, "last_fd": last,
                        "unsent": backlog.unsent if last is not None else None,
                        "outbox": backlog.outbox,
                        "rejected": _rejected(store, register_key, fn_number, cursor),
                        "replaced_fns": _replaced_fns(store, record)}
    return result


def _rejected(store: Store, register_key: str, fn_number: str,
              cursor: int) -> dict[str, Any] | None:
    """The document the back office refuses, while the cursor still waits at it."""
    found = figures.rejection(store, register_key, fn_number, cursor)
    if found is None:
        return None
    return {"fd_number": found.fd_number, "attempts": found.attempts, "error": found.error,
            "at": _when(found.at)}


def _replaced_fns(store: Store, record: RegisterRecord | None) -> list[dict[str, Any]]:
    """Earlier ФН of this register with documents not yet in the back office."""
    if record is None:
        return []
    return [{"fn_number": r.fn_number, "cursor": r.cursor, "last_fd": r.last_fd,
             "outbox": r.outbox, "unread": r.unread}
            for r in figures.replaced_backlogs(store, record)]


def format_status(status: dict[str, Any]) -> list[str]:
    """Human lines for ``kkt-bridge status``."""
    lines: list[str] = []
    pairing = status["pairing"]
    if pairing is None:
        lines.append(_("Бэк-офис: не подключена («Подключить ККТ»: kkt-bridge connect)"))
    else:
        lines.append(_("Бэк-офис: {backoffice} ({account} / {shop}), подключена {at}").format(
            backoffice=pairing["backoffice"], account=pairing["account"] or "—",
            shop=pairing["shop"] or "—", at=pairing["paired_at"]))
    settings = status["settings"]
    lines.append(_("Экспорт товаров: {goods}; экспорт сотрудников: {employees}").format(
        goods=settings["goods"], employees=settings["employees"]))
    lines.append(_("{receipts} (проверка каждые {n} с)").format(
        receipts=settings["receipts"], n=settings["receipts_interval"]))
    for job in status["jobs"].values():
        if not job["enabled"]:
            continue
        line = _("  {title}: последний {last}, следующий {next}").format(
            title=job["title"], last=job["last_run"] or "—", next=job["next_run"] or "—")
        if job["last_error"]:
            line += _(" (ошибка: {error})").format(error=job["last_error"])
        lines.append(line)
    export = status["export"]
    unsent = "?" if export["unsent"] is None else export["unsent"]
    lines.append(_("Не выгружено документов: {unsent} (выгружен до ФД {cursor})").format(
        unsent=unsent, cursor=export["cursor"]))
    rejected = export.get("rejected")
    if rejected:
        lines.append(_("Бэк-офис не принимает ФД {fd} (попыток подряд: {attempts}): {error}; "
                       "следующие документы ждут его").format(
            fd=rejected["fd_number"], attempts=rejected["attempts"], error=rejected["error"]))
    for old in export.get("replaced_fns", ()):
        lines.append(_("Прежний ФН {fn}: не выгружено {n} (в очереди {outbox}, не прочитано "
                       "{unread})").format(fn=old["fn_number"], n=old["last_fd"] - old["cursor"],
                                           outbox=old["outbox"], unread=old["unread"]))
    return lines


def stored_status(register_key: str, *,
                  last_fd_number: int | None = None) -> dict[str, Any] | None:
    """:func:`bridge_status` from the data directory's store, or None when the bridge has
    never seen this register (no store is created just to say so)."""
    path = db_path()
    if not path.exists():
        return None
    with Store(path) as store:
        if store.get_register(register_key) is None:
            return None
        return bridge_status(store, register_key, last_fd_number=last_fd_number)

"""``kkt-bridge status --device URL``: who the register is, its registration, shift and ФН.

The report is collected once as plain data (:func:`collect`), then printed either as a rich
table for people or as one JSON object for scripts (``--json``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt, ShiftState
from kkt_bridge.registers import open_register as open_register  # a seam the tests replace


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="minutes") if moment else None


def collect(kkt: Kkt) -> dict[str, Any]:
    """Everything ``status`` shows, as JSON-ready data."""
    ident = kkt.identity()
    state = kkt.status()
    fn = kkt.fn_status()
    reg = kkt.registration()
    shift = kkt.shift()
    queue = kkt.ofd_queue()
    shift_state = state.shift
    if shift_state is ShiftState.CLOSED and shift.open:
        shift_state = ShiftState.OPEN  # the ФН knows better than a mode byte
    return {
        "driver": ident.protocol,
        "model": ident.model,
        "model_code": ident.model_code,
        "serial": ident.serial,
        "firmware": ident.firmware,
        "fn_number": ident.fn_number,
        "mode": {"code": state.mode, "text": state.mode_text},
        "registration": None if reg is None else {
            "inn": reg.inn,
            "rnm": reg.rnm,
            "tax_systems": reg.tax_system_names,
            "tax_systems_mask": reg.tax_systems,
            "work_mode": reg.work_mode,
            "ffd_version": reg.ffd_version,
            "registered_at": _iso(reg.registered_at),
            "fd_number": reg.fd_number,
        },
        "shift": {"state": shift_state.value, "number": shift.number,
                  "receipt_number": shift.receipt_number},
        "last_fd_number": fn.last_fd_number,
        "last_document_at": _iso(fn.last_document_at),
        "fn_valid_until": fn.valid_until.date().isoformat() if fn.valid_until else None,
        "ofd": {"unsent": queue.unsent, "first_unsent_fd": queue.first_unsent_fd,
                "first_unsent_at": _iso(queue.first_unsent_at)},
    }


_SHIFT_WORDS = {
    ShiftState.OPEN.value: "открыта",
    ShiftState.CLOSED.value: "закрыта",
    ShiftState.EXPIRED.value: "открыта больше 24 часов",
}


def rows(report: dict[str, Any]) -> list[tuple[str, str]]:
    """The human report as (name, value) rows, in Russian (translated by the UI language)."""
    out = [
        (_("Модель"), f"{report['model']} ({report['model_code']})"),
        (_("Заводской номер"), report["serial"]),
        (_("Прошивка"), report["firmware"]),
        (_("Номер ФН"), report["fn_number"] or _("нет ФН")),
        (_("Режим"), f"{report['mode']['code']}: {report['mode']['text']}"),
    ]
    reg = report["registration"]
    if reg is None:
        out.append((_("Регистрация"), _("не зарегистрирована")))
    else:
        out += [
            (_("ИНН"), reg["inn"]),
            (_("РН ККТ"), reg["rnm"]),
            (_("Системы налогообложения"),
             ", ".join(_(name) for name in reg["tax_systems"]) or "-"),
            (_("Версия ФФД"), reg["ffd_version"]),
            (_("Дата регистрации"), reg["registered_at"] or "-"),
        ]
    shift = report["shift"]
    out += [
        (_("Смена"), _("№{number}, {state}").format(
            number=shift["number"], state=_(_SHIFT_WORDS[shift["state"]]))),
        (_("Последний ФД"), _("№{number} от {when}").format(
            number=report["last_fd_number"], when=report["last_document_at"] or "-")),
        (_("Не отправлено в ОФД"), str(report["ofd"]["unsent"]) if not report["ofd"]["unsent"]
         else _("{count} (первый ФД №{first} от {when})").format(
             count=report["ofd"]["unsent"], first=report["ofd"]["first_unsent_fd"],
             when=report["ofd"]["first_unsent_at"] or "-")),
    ]
    if report["fn_valid_until"]:
        out.append((_("ФН действует до"), report["fn_valid_until"]))
    return out


@click.command(name="status", help=_(
    "Состояние ККТ: модель, регистрация, смена, ФН и очередь в ОФД."))
@click.option("--device", "url", required=True, metavar="URL",
              help=_("Порт ККТ: /dev/ttyACM0, COM3, socket://host[:7778], usb://VID:PID."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
@click.option("--json", "as_json", is_flag=True, help=_("Вывести состояние одним JSON-объектом."))
def status_command(url: str, driver: str | None, as_json: bool) -> None:
    """Состояние ККТ: модель, регистрация, смена, ФН и очередь в ОФД."""
    kkt = open_register(url, driver=driver)
    try:
        report = {"device": url, **collect(kkt)}
        bridge_key = kkt.identity().key
    finally:
        kkt.close()
    # the bridge side: pairing, periods, last and next runs, unsent documents
    from kkt_bridge.bridge.status import format_status, stored_status

    report["bridge"] = stored_status(bridge_key, last_fd_number=report["last_fd_number"])
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False))
        return
    table = Table(title=_("ККТ {url}").format(url=url), show_header=False)
    table.add_column(_("Параметр"), style="bold")
    table.add_column(_("Значение"))
    for name, value in rows(report):
        table.add_row(name, value.replace("[", r"\["))
    Console(soft_wrap=True).print(table)
    for line in format_status(report["bridge"]) if report["bridge"] else ():
        click.echo(line)


def register(group: click.Group) -> None:
    group.add_command(status_command)

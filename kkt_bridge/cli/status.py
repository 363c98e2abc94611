"""``kkt-bridge status [--device URL]``: the register and what the bridge knows of it.

The report is :meth:`kkt_bridge.bridge.actions.Actions.status` (from the running daemon when
there is one), printed as a table for people or as one JSON object (``--json``: the
register's own report at the top level, as before, then the bridge's sections). Without
``--device`` it is about the only paired register.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import click

from kkt_bridge.bridge.actions import Actions, RegisterFacts, RegisterStatus
from kkt_bridge.cli.backend import dialogues
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt


def open_register(url: str, **options: Any) -> Kkt:
    """How ``status`` opens a register when no daemon runs (a seam the tests replace);
    options: ``driver``, or ``likely`` (the store's record, probed first)."""
    from kkt_bridge.bridge import app

    return app.open_register(url, **options)


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%d.%m.%Y %H:%M")


def fact_rows(facts: RegisterFacts) -> list[tuple[str, str]]:
    """The register's own report as (name, value) rows in the UI language."""
    out = [
        (_("Модель"), f"{facts.model} ({facts.model_code})"),
        (_("Заводской номер"), facts.serial),
        (_("Прошивка"), facts.firmware),
        (_("Номер ФН"), facts.fn_number or _("нет ФН")),
        (_("Режим"), f"{facts.mode}: {facts.mode_text}"),
    ]
    reg = facts.registration
    if reg is None:
        out.append((_("Регистрация"), _("не зарегистрирована")))
    else:
        out += [
            (_("ИНН"), reg.inn),
            (_("РН ККТ"), reg.rnm),
            (_("Системы налогообложения"), ", ".join(_(n) for n in reg.tax_systems) or "-"),
            (_("Версия ФФД"), reg.ffd_version),
            (_("Дата регистрации"), _when(reg.registered_at)),
        ]
    out += [
        (_("Смена"), _("№{number}, {state}").format(number=facts.shift_number,
                                                    state=facts.shift_text)),
        (_("Последний ФД"), _("№{number} от {when}").format(
            number=facts.last_fd_number, when=_when(facts.last_document_at))),
        (_("Не отправлено в ОФД"), str(facts.ofd_unsent) if not facts.ofd_unsent
         else _("{count} (первый ФД №{first} от {when})").format(
             count=facts.ofd_unsent, first=facts.ofd_first_unsent_fd,
             when=_when(facts.ofd_first_unsent_at))),
    ]
    if facts.fn_valid_until:
        out.append((_("ФН действует до"), facts.fn_valid_until.strftime("%d.%m.%Y")))
    return out


def json_report(status: RegisterStatus) -> dict[str, Any]:
    """The JSON report: the register's facts flat at the top (the shape scripts read since
    the first release), then the bridge's sections of :class:`RegisterStatus`."""
    from pydantic import TypeAdapter

    data = TypeAdapter(RegisterStatus).dump_python(status, mode="json")
    facts = data.pop("facts")
    report: dict[str, Any] = {"device": status.device_url}
    if facts is not None:
        reg = facts["registration"]
        report.update({
            "driver": facts["driver"], "model": facts["model"],
            "model_code": facts["model_code"], "serial": facts["serial"],
            "firmware": facts["firmware"], "fn_number": facts["fn_number"],
            "mode": {"code": facts["mode"], "text": facts["mode_text"]},
            "registration": None if reg is None else {
                "inn": reg["inn"], "rnm": reg["rnm"], "tax_systems": reg["tax_systems"],
                "tax_systems_mask": reg["tax_systems_mask"], "work_mode": reg["work_mode"],
                "ffd_version": reg["ffd_version"], "registered_at": reg["registered_at"],
                "fd_number": reg["fd_number"]},
            "shift": {"state": facts["shift_state"], "number": facts["shift_number"],
                      "receipt_number": facts["receipt_number"]},
            "last_fd_number": facts["last_fd_number"],
            "last_document_at": facts["last_document_at"],
            "fn_valid_until": facts["fn_valid_until"],
            "ofd": {"unsent": facts["ofd_unsent"],
                    "first_unsent_fd": facts["ofd_first_unsent_fd"],
                    "first_unsent_at": facts["ofd_first_unsent_at"]},
        })
    report.update(data)
    return report


def bridge_lines(status: RegisterStatus) -> list[str]:
    """Pairing, periods, runs, backlog and a refused document, as lines."""
    lines: list[str] = []
    if status.link.state != "ok":
        lines.append(_("Связь с ККТ: {state}{error}").format(
            state=status.link.text, error=f" ({status.link.error})" if status.link.error
            else ""))
    if status.register_key is None or status.backlog is None:
        return lines
    pairing = status.pairing
    if pairing is None:
        lines.append(_("Бэк-офис: не подключена («Подключить ККТ»: kkt-bridge connect)"))
    else:
        lines.append(_("Бэк-офис: {backoffice} ({account} / {shop}), подключена {at}").format(
            backoffice=pairing.backoffice, account=pairing.account or "—",
            shop=pairing.shop or "—", at=_when(pairing.paired_at)))
    if status.settings is not None:
        lines.append(_("Экспорт товаров: {goods}; экспорт сотрудников: {employees}").format(
            goods=status.settings.goods_label, employees=status.settings.employees_label))
        lines.append(_("{receipts} (проверка каждые {n} с)").format(
            receipts=status.settings.receipts_text, n=status.settings.receipts_interval))
    for job in status.exchanges:
        if not job.enabled or pairing is None:
            continue
        line = _("  {title}: последний {last}, следующий {next}").format(
            title=job.title, last=_when(job.last_run), next=_when(job.next_run))
        if job.last_error:
            line += _(" (ошибка: {error})").format(error=job.last_error)
        lines.append(line)
    backlog = status.backlog
    lines.append(_("Не выгружено документов: {unsent} (выгружен до ФД {cursor})").format(
        unsent=backlog.unsent, cursor=backlog.cursor))
    failed = status.failed_export
    if failed is not None:
        lines.append(_("Бэк-офис не принимает ФД {fd} (попыток подряд: {attempts}): {error}; "
                       "следующие документы ждут его").format(
            fd=failed.fd_number, attempts=failed.attempts, error=failed.error))
    for old in backlog.replaced_fns:
        lines.append(_("Прежний ФН {fn}: не выгружено {n} (в очереди {outbox})").format(
            fn=old.fn_number, n=old.unsent, outbox=old.outbox))
    return lines


def shared_lines(status: RegisterStatus) -> list[str]:
    """The shared port cash software opens, and a program that holds the real port."""
    lines: list[str] = []
    port = status.shared_port
    if port is not None:
        lines.append(_("Общий порт для кассовой программы: {path}").format(path=port.path)
                     + (f" ({port.tcp})" if port.tcp else ""))
    if status.port_holders:
        lines.append(_("Порт ККТ {url} занят программой {holders}: укажите в её настройках "
                       "порт {path}").format(
            url=status.device_url,
            holders=", ".join(f"{h.name} ({h.pid})" for h in status.port_holders),
            path=port.path if port else _("общий порт «kkt-bridge run»")))
    return lines


@click.command(name="status", help=_(
    "Состояние ККТ: модель, регистрация, смена, ФН и очередь в ОФД."))
@click.option("--device", "url", default=None, metavar="URL",
              help=_("Порт ККТ: /dev/ttyACM0, COM3, socket://host[:порт] (7778 у Штрих-М, "
                     "5555 у АТОЛ), usb://VID:PID (по умолчанию — единственная подключённая "
                     "ККТ)."))
@click.option("--json", "as_json", is_flag=True, help=_("Вывести состояние одним JSON-объектом."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
def status_command(url: str | None, as_json: bool, driver: str | None) -> None:
    """Состояние ККТ: модель, регистрация, смена, ФН и очередь в ОФД."""
    with dialogues(transient=True, driver=driver,
                   open_fn=lambda url, **options: open_register(url, **options)) as be:
        status = be.status(be.choose_device(url), fresh=True)
        direct = isinstance(be, Actions)  # no daemon holds the port: it may be probed
    if status.facts is None and status.register_key is None:
        from kkt_bridge.errors import LinkTimeoutError
        from kkt_bridge.registers import wrong_driver

        silent = LinkTimeoutError(_("ККТ на {url} не отвечает: {error}").format(
            url=status.device_url, error=status.link.error or status.link.text),
            _("подробнее: kkt-bridge doctor --device {url}").format(url=status.device_url))
        if driver is not None and direct and status.device_url:
            raise wrong_driver(status.device_url, driver, silent)
        raise silent
    if as_json:
        click.echo(json.dumps(json_report(status), ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=_("ККТ {url}").format(url=status.device_url), show_header=False)
    table.add_column(_("Параметр"), style="bold")
    table.add_column(_("Значение"))
    for name, value in fact_rows(status.facts) if status.facts else ():
        table.add_row(name, value.replace("[", r"\["))
    if status.facts is not None:
        Console(soft_wrap=True).print(table)
    for line in bridge_lines(status):
        click.echo(line)
    for line in shared_lines(status):
        click.echo(line)


def register(group: click.Group) -> None:
    group.add_command(status_command)

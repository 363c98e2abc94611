"""``kkt-bridge devices``: the registers connected to this computer.

Candidates come from :func:`kkt_bridge.link.list_candidates` (USB ids of every installed
driver, then plain serial ports); with ``--probe`` (the default) each driver asks them at
each of its speeds, every driver's usual speed first, the ports at the same time, and a
``ttyS*`` the kernel found no UART behind is not asked at all
(:mod:`kkt_bridge.link.discovery`). ``--device URL`` adds addresses discovery cannot see (socket://...).
A port that cannot be opened (busy, no permission) is listed with what to do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

from kkt_bridge.driverapi import Driver, ProbeResult, load_drivers
from kkt_bridge.errors import LinkError
from kkt_bridge.i18n import _
from kkt_bridge.link.discovery import Candidate, Confidence, list_candidates, probe_candidates

if TYPE_CHECKING:  # rich loads when there is something to print
    from rich.console import Console

DEFAULT_PROBE_TIMEOUT = 0.3


@dataclass(frozen=True)
class DevicesReport:
    candidates: tuple[Candidate, ...]
    found: tuple[ProbeResult, ...]
    failures: tuple[tuple[str, LinkError], ...]
    probed: bool
    #: the addresses the user gave with --device
    given: tuple[str, ...] = ()
    #: those of them where nothing answered and nothing failed to open, as given (a
    #: register found there may be listed under a fuller address: socket://HOST:PORT)
    silent: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "devices": [{"url": r.url, "driver": r.driver, "model": r.model,
                         "serial": r.serial, "speed": r.baudrate} for r in self.found],
            "candidates": [{"url": c.url, "usb_id": c.usb_id, "driver": c.driver,
                            "title": c.title, "serial_number": c.serial_number,
                            "confidence": c.confidence.name.lower()}
                           for c in self.candidates],
            "errors": [{"url": url, "error": type(err).__name__, "message": err.message,
                        "hint": err.hint} for url, err in self.failures],
        }


def drivers() -> Mapping[str, Driver]:
    """Installed drivers (a seam the tests replace)."""
    return load_drivers()


def discover(urls: tuple[str, ...] = (), *, probe: bool = True,
             timeout: float | None = None,
             installed: Mapping[str, Driver] | None = None) -> DevicesReport:
    """The candidates and, with ``probe``, what answers on them. ``timeout``: how long
    every probe waits; None: :data:`DEFAULT_PROBE_TIMEOUT` at each driver's usual speed
    and its own shorter answer time at the others (:func:`~kkt_bridge.link.discovery.attempts`)."""
    installed = drivers() if installed is None else installed
    candidates = list_candidates(installed)
    listed = {c.url for c in candidates}
    for url in urls:
        if url not in listed:
            candidates.insert(0, Candidate(url, Confidence.USB_ID, None, url))
    if not probe:
        return DevicesReport(tuple(candidates), (), (), probed=False, given=urls)
    found: list[ProbeResult] = []
    failures: list[tuple[str, LinkError]] = []
    silent: list[str] = []
    for candidate, result, error in probe_candidates(
            candidates, installed, timeout=DEFAULT_PROBE_TIMEOUT if timeout is None else timeout,
            sweep_timeout=timeout):
        if result is not None:
            found.append(result)
        elif error is not None:
            failures.append((candidate.url, error))
        elif candidate.url in urls:
            silent.append(candidate.url)
    return DevicesReport(tuple(candidates), tuple(found), tuple(failures), probed=True,
                         given=urls, silent=tuple(silent))


def _speed(result: ProbeResult) -> str:
    return str(result.baudrate) if result.baudrate else "—"


def print_report(report: DevicesReport, console: Console) -> None:
    from rich.table import Table

    if report.probed:
        if report.found:
            table = Table(title=_("Найденные ККТ"))
            for name in (_("Адрес"), _("Модель"), _("Заводской номер"), _("Скорость")):
                table.add_column(name)
            for r in report.found:
                table.add_row(r.url, r.model, r.serial or "—", _speed(r))
            console.print(table)
        else:
            console.print(_("ККТ не найдены (проверено портов: {count})").format(
                count=len(report.candidates)))
            if not report.given:
                # a network register or an emulator's pty is not on the list of ports
                console.print(_("ККТ в сети или эмулятор укажите сами: kkt-bridge devices "
                                "--device socket://АДРЕС[:ПОРТ] или --device /dev/pts/N"),
                              highlight=False)
        for url in report.silent:
            console.print(_("{url}: ККТ не ответила").format(url=url), highlight=False)
        if report.silent:
            # the user gave the address: what is left to check is the address and the register
            console.print(_("Проверьте адрес и порт и что ККТ включена; адрес эмулятора — "
                            "строка pty или tcp, которую он вывел при запуске"),
                          highlight=False)
    else:
        table = Table(title=_("Порты, где может быть ККТ"))
        for name in (_("Адрес"), _("USB"), _("Устройство"), _("Заводской номер")):
            table.add_column(name)
        for c in report.candidates:
            # pyserial's "n/a" for a port without a description: not a word of the UI
            title = "—" if c.title in ("", "n/a") else c.title
            table.add_row(c.url, c.usb_id or "—", title, c.serial_number or "—")
        console.print(table)
    for url, err in report.failures:
        console.print(f"[yellow]{url}[/yellow]: {err}", markup=True, highlight=False)


@click.command(name="devices", help=_(
    "Найти подключённые ККТ: адрес, модель, заводской номер, скорость."))
@click.option("--json", "as_json", is_flag=True, help=_("Вывести JSON для скриптов."))
@click.option("--probe/--no-probe", default=True, show_default=True,
              help=_("Опросить порты, чтобы найти ККТ, модель и скорость."))
@click.option("--device", "urls", multiple=True, metavar="URL",
              help=_("Проверить и этот адрес, например socket://10.0.0.5 (можно несколько)."))
@click.option("--timeout", type=click.FloatRange(0.01, 30), default=None, metavar=_("СЕКУНДЫ"),
              show_default=str(DEFAULT_PROBE_TIMEOUT),
              help=_("Сколько ждать ответа при опросе, секунд (без параметра: столько на "
                     "обычной скорости протокола, на прочих — сколько отвечает его ККТ)."))
def devices_command(as_json: bool, probe: bool, urls: tuple[str, ...],
                    timeout: float | None) -> None:
    """Найти подключённые ККТ: адрес, модель, заводской номер, скорость."""
    report = discover(urls, probe=probe, timeout=timeout)
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        from rich.console import Console

        print_report(report, Console(highlight=False))


def register(group: click.Group) -> None:
    group.add_command(devices_command)

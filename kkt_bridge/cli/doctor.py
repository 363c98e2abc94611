"""``kkt-bridge doctor [--device URL] [--json]``: find what is wrong, say what to do.

Without ``--device`` it checks every port whose USB id a driver knows. Exit code 0 when
nothing is wrong (only OK and INFO findings), 1 otherwise.
"""

from __future__ import annotations

import json

import click
from rich.console import Console
from rich.markup import escape

from kkt_bridge import doctor
from kkt_bridge.driverapi import ProbeResult, get_driver, load_drivers
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.link.discovery import Confidence, list_candidates, probe

_MARKS = {
    doctor.Level.OK: "[green]✔[/green]",
    doctor.Level.INFO: "[blue]ℹ[/blue]",
    doctor.Level.WARNING: "[yellow]⚠[/yellow]",
    doctor.Level.ERROR: "[red]✖[/red]",
}


def _open(url: str, found: ProbeResult) -> Kkt:
    return get_driver(found.driver).open(url, baudrate=found.baudrate)


def environment() -> doctor.DoctorEnv:
    """The real world (a seam the tests replace)."""
    return doctor.DoctorEnv(probe=lambda url: probe(url, load_drivers()), open_register=_open,
                            backoffice=doctor.backoffice_ping())


def default_urls() -> list[str]:
    """Ports whose USB id a driver declares: the registers plugged in here."""
    return [c.url for c in list_candidates(load_drivers()) if c.confidence is Confidence.USB_ID]


def print_findings(findings: list[doctor.Finding], console: Console) -> None:
    for f in findings:
        console.print(f"{_MARKS[f.level]} {escape(f.title)}", highlight=False)
        if f.what_to_do and f.level.is_problem:
            console.print(f"   → {escape(f.what_to_do)}", highlight=False)
    problems = sum(1 for f in findings if f.level.is_problem)
    if problems:
        console.print(_("Найдено проблем: {count}").format(count=problems))
    else:
        console.print(_("Проблем не найдено"))


@click.command(name="doctor")
@click.option("--device", "urls", multiple=True, metavar="URL",
              help=_("Порт ККТ (можно несколько); по умолчанию все найденные ККТ."))
@click.option("--baudrate", type=int, default=None,
              help=_("Настроенная скорость порта: сообщить, если ККТ отвечает на другой."))
@click.option("--json", "as_json", is_flag=True, help=_("Вывести JSON для скриптов."))
@click.pass_context
def doctor_command(ctx: click.Context, urls: tuple[str, ...], baudrate: int | None,
                   as_json: bool) -> None:
    """Проверить доступ к ККТ, правила udev, часы, ФН, ОФД и бэк-офис."""
    env = environment()
    targets = list(urls) or default_urls()
    findings = doctor.run_checks(targets, env, baudrate=baudrate)
    bad = doctor.has_problems(findings)
    if as_json:
        click.echo(json.dumps({"ok": not bad, "findings": [f.as_json() for f in findings]},
                              ensure_ascii=False, indent=2))
    else:
        print_findings(findings, Console(highlight=False))
    ctx.exit(1 if bad else 0)


def register(group: click.Group) -> None:
    group.add_command(doctor_command)

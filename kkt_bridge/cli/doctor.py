"""``kkt-bridge doctor [--device URL] [--json]``: find what is wrong, say what to do.

Without ``--device`` it checks every port whose USB id a driver knows and every paired
register's port. Each paired register's back office is asked whether it is reachable and
still accepts the stored credentials (``backoffice_check`` of its plugin). Exit code 0 when
nothing is wrong (only OK and INFO findings), 1 otherwise.
"""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kkt_bridge import doctor
from kkt_bridge.bridge import figures
from kkt_bridge.driverapi import ProbeResult, get_driver, load_drivers
from kkt_bridge.errors import KktBridgeError
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.link.discovery import Confidence, list_candidates, probe
from kkt_bridge.store import Store, db_path

if TYPE_CHECKING:  # the daemon's, the plugins' and rich's modules load when doctor runs
    from rich.console import Console

    from kkt_bridge.pluginmanager import BackOfficePluginManager

_MARKS = {
    doctor.Level.OK: "[green]✔[/green]",
    doctor.Level.INFO: "[blue]ℹ[/blue]",
    doctor.Level.WARNING: "[yellow]⚠[/yellow]",
    doctor.Level.ERROR: "[red]✖[/red]",
}


def _open(url: str, found: ProbeResult) -> Kkt:
    return get_driver(found.driver).open(url, baudrate=found.baudrate)


def environment(driver: str | None = None) -> doctor.DoctorEnv:
    """The real world (a seam the tests replace); ``driver`` limits probing to one protocol."""
    ping = doctor.backoffice_ping()
    return doctor.DoctorEnv(probe=lambda url: probe(url, load_drivers(), only=driver),
                            open_register=_open,
                            backoffice=ping, paired=None if ping else paired_backoffices())


def _unavailable(error: KktBridgeError) -> object:
    raise error


def paired_backoffices(pm: BackOfficePluginManager | None = None) -> list[doctor.PairedBackOffice]:
    """What the store knows of every paired register, each with a ping of its back office.

    No store yet means nothing is paired; the store is never created here. A store that
    cannot be opened is reported through the ping, so it shows as a finding."""
    from kkt_bridge.bridge.backoffice import BackOffice
    from kkt_bridge.pluginmanager import get_plugin_manager

    path = db_path()
    if not path.exists():
        return []
    try:
        db = Store(path)
    except KktBridgeError as exc:
        return [doctor.PairedBackOffice(_("хранилище"), partial(_unavailable, exc))]
    plugins = pm or get_plugin_manager()
    found: list[doctor.PairedBackOffice] = []
    with db:
        for pairing in db.pairings():
            record = db.get_register(pairing.register_key)
            credentials = pairing.credentials
            label = pairing.register_key
            unsent = 0
            if record is not None:
                label = _("{model} № {serial}").format(model=record.model or _("ККТ"),
                                                       serial=record.serial)
                unsent = figures.register_backlog(db, record).unsent
            label += f" → {credentials.backoffice}" + (f" ({credentials.shop})"
                                                       if credentials.shop else "")
            run = db.get_job_run(pairing.register_key, "documents")
            failed = run.failures > 0 and run.last_error is not None
            ping = partial(BackOffice(plugins, credentials.backoffice).check, credentials)
            found.append(doctor.PairedBackOffice(
                label, ping, unsent=unsent, export_error=run.last_error if failed else None))
    return found


def paired_device_urls() -> list[str]:
    """The ports of the paired registers, as the bridge was told them."""
    from kkt_bridge.bridge.figures import paired_urls

    path = db_path()
    if not path.exists():
        return []
    try:
        with Store(path) as db:
            return paired_urls(db)
    except KktBridgeError:
        return []


def default_urls() -> list[str]:
    """Ports whose USB id a driver declares (the registers plugged in here) and the ports
    of the paired registers; a symlink and the node it names count once."""
    urls: list[str] = []
    seen: set[str] = set()
    found = [c.url for c in list_candidates(load_drivers()) if c.confidence is Confidence.USB_ID]
    for url in paired_device_urls() + found:
        same = os.path.realpath(url) if "://" not in url else url
        if same not in seen:
            seen.add(same)
            urls.append(url)
    return urls


#: where kkt-bridge.service keeps its store (StateDirectory=kkt-bridge)
SERVICE_HOME = Path("/var/lib/kkt-bridge")


def store_findings() -> tuple[list[doctor.Finding], list[str]]:
    """Which store this command uses, whether a daemon serves it (then its registers are
    asked through it, never by opening their ports a second time) and whether the service's
    store is another one; returns the findings and the URLs the daemon serves."""
    from kkt_bridge.store.paths import data_dir
    from kkt_bridge.web.client import DaemonClient
    from kkt_bridge.web.instance import running_daemon

    directory = data_dir()
    findings: list[doctor.Finding] = []
    served: list[str] = []
    running = running_daemon(directory) if directory.is_dir() else None
    if running is not None:
        findings.append(doctor.Finding(doctor.Level.INFO, _(
            "kkt-bridge run (процесс {pid}) обслуживает хранилище {path}, страница {url}/: "
            "подключите ККТ на странице (ссылка для входа: kkt-bridge ui) или командой "
            "kkt-bridge connect").format(pid=running.pid, path=directory, url=running.url),
            check="store"))
        try:
            with DaemonClient(running) as client:
                served = [s.device_url for s in client.statuses() if s.device_url]
        except KktBridgeError as exc:
            findings.append(doctor.Finding(doctor.Level.WARNING, exc.message, exc.hint,
                                           check="store"))
    if SERVICE_HOME.exists() and SERVICE_HOME.resolve() != directory.resolve():
        findings.append(doctor.Finding(doctor.Level.INFO, _(
            "служба kkt-bridge хранит данные в {service}, эта команда — в {path}: для ККТ "
            "службы выполняйте команды так: sudo KKT_BRIDGE_HOME={service} kkt-bridge …"
            ).format(service=SERVICE_HOME, path=directory), check="store"))
    return findings, served


def print_findings(findings: list[doctor.Finding], console: Console) -> None:
    from rich.markup import escape

    for f in findings:
        console.print(f"{_MARKS[f.level]} {escape(f.title)}", highlight=False)
        if f.what_to_do and f.level.is_problem:
            console.print(f"   → {escape(f.what_to_do)}", highlight=False)
    problems = sum(1 for f in findings if f.level.is_problem)
    if problems:
        console.print(_("Найдено проблем: {count}").format(count=problems))
    else:
        console.print(_("Проблем не найдено"))


@click.command(name="doctor", help=_(
    "Проверить доступ к ККТ, правила udev, часы, ФН, ОФД и бэк-офис."))
@click.option("--device", "urls", multiple=True, metavar="URL",
              help=_("Порт ККТ (можно несколько); по умолчанию все найденные ККТ."))
@click.option("--baudrate", type=int, default=None, metavar="BAUD",
              help=_("Настроенная скорость порта: сообщить, если ККТ отвечает на другой."))
@click.option("--json", "as_json", is_flag=True, help=_("Вывести JSON для скриптов."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
@click.pass_context
def doctor_command(ctx: click.Context, urls: tuple[str, ...], baudrate: int | None,
                   as_json: bool, driver: str | None) -> None:
    """Проверить доступ к ККТ, правила udev, часы, ФН, ОФД и бэк-офис."""
    env = environment(driver) if driver else environment()
    about_store, served = store_findings()
    targets = [url for url in list(urls) or default_urls() if url not in served]
    findings = about_store + [doctor.Finding(doctor.Level.INFO, _(
        "ККТ на {url} обслуживает kkt-bridge run: её порт не открывается второй раз "
        "(состояние: kkt-bridge status --device {url})").format(url=url), check="register")
        for url in served if not urls or url in urls]
    findings += doctor.run_checks(targets, env, baudrate=baudrate) if targets or not served \
        else []
    bad = doctor.has_problems(findings)
    if as_json:
        click.echo(json.dumps({"ok": not bad, "findings": [f.as_json() for f in findings]},
                              ensure_ascii=False, indent=2))
    else:
        from rich.console import Console

        print_findings(findings, Console(highlight=False))
    ctx.exit(1 if bad else 0)


def register(group: click.Group) -> None:
    group.add_command(doctor_command)

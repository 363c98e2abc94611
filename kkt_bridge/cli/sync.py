"""``kkt-bridge sync now``: «Обновить сейчас» for every paired register, with progress.

With a daemon running, the daemon runs the exchanges (it owns the registers) and its
progress comes back as it happens.
"""

from __future__ import annotations

import click

from kkt_bridge.bridge.actions import SyncProgress
from kkt_bridge.cli.backend import dialogues
from kkt_bridge.cli.lines import result_lines
from kkt_bridge.i18n import _


def show_progress(step: SyncProgress) -> None:
    if step.state == "started":
        if step.index == 1:
            click.echo(_("ККТ {key}:").format(key=step.register_key))
        click.echo(_("  {title} ({index} из {total})…").format(
            title=step.title, index=step.index, total=step.total))
        return
    if step.result is not None:
        for line in result_lines(step.result):
            click.echo(line, err=not step.result.ok)


@click.group(name="sync", help=_("Обмен с бэк-офисом."))
def sync_group() -> None:
    """Обмен с бэк-офисом."""


@sync_group.command(name="now", help=_(
    "Обновить сейчас: все задания всех подключённых ККТ; код 0, если все успешны."))
@click.option("--device", default=None, metavar="URL", help=_("Только ККТ на этом порту."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
def now_command(device: str | None, driver: str | None) -> None:
    """Обновить сейчас: все задания всех подключённых ККТ; код 0, если все успешны."""
    click.echo(_("Обновить сейчас"))
    with dialogues(driver=driver, name_wrong_driver=True) as be:
        result = be.sync_now(device=device, on_progress=show_progress)
    failed = [r for r in result.results if not r.ok]
    if failed:
        click.echo(_("Не удалось: {titles}").format(
            titles=", ".join(r.title for r in failed)), err=True)
        raise SystemExit(1)
    click.echo(_("Готово"))


def register(group: click.Group) -> None:
    group.add_command(sync_group)

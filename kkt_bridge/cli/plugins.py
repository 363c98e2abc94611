"""``kkt-bridge plugins``: which back-office plugins are installed, from which package and
version, and which are broken (with the reason)."""

from __future__ import annotations

import json

import click

from kkt_bridge.i18n import _


@click.command(name="plugins", help=_(
    "Установленные модули бэк-офисов: пакет, версия, состояние."))
@click.option("--json", "as_json", is_flag=True,
              help=_("Вывести список в JSON, по строке на модуль."))
def plugins_command(as_json: bool) -> None:
    """Установленные модули бэк-офисов: пакет, версия, состояние."""
    from kkt_bridge.pluginmanager import OK, list_plugins  # entry points: only when run

    records = list_plugins()
    if as_json:
        for r in records:
            click.echo(json.dumps({
                "name": r.name, "package": r.package, "version": r.version,
                "status": r.status, "reason": r.reason,
                "backoffices": [{"name": i.name, "title": i.title} for i in r.backoffices],
            }, ensure_ascii=False))
        return
    if not records:
        click.echo(_("Модули бэк-офисов не установлены"))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=_("Модули бэк-офисов"))
    for column in (_("Модуль"), _("Бэк-офис"), _("Пакет"), _("Версия"), _("Состояние")):
        table.add_column(column)
    for r in records:
        backoffices = ", ".join(f"{i.name} ({i.title})" for i in r.backoffices) or "-"
        state = ("[green]" + _("работает") + "[/green]" if r.status == OK
                 else "[red]" + _("не загружен") + "[/red]: " + _escape(r.reason))
        table.add_row(r.name, backoffices, r.package, r.version, state)
    Console(soft_wrap=True).print(table)


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


def register(group: click.Group) -> None:
    group.add_command(plugins_command)

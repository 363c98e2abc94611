"""``kkt-bridge reset``: forget everything, as a reinstall does (the pairing too)."""

from __future__ import annotations

import click

from kkt_bridge.i18n import _
from kkt_bridge.store import data_dir, open_store, reset_store


@click.command(name="reset", help=_(
    "Сбросить kkt-bridge как при переустановке: ККТ нужно будет подключить заново."))
@click.option("--yes", is_flag=True, help=_("Не спрашивать подтверждения."))
def reset_command(yes: bool) -> None:
    """Сбросить kkt-bridge как при переустановке: ККТ нужно будет подключить заново."""
    directory = data_dir()
    click.echo(_("Будут удалены подключение к бэк-офису, настройки обмена, товары, "
                 "сотрудники и журнал ({path}).").format(path=directory))
    click.echo(_("Невыгруженные документы останутся в ФН и выгрузятся после нового "
                 "подключения."))
    if not yes and not click.confirm(_("Сбросить?"), default=False):
        raise SystemExit(1)
    reset_store(directory)
    db = open_store(directory)
    try:
        click.echo(_("Сброшено. Новый идентификатор установки: {id}").format(
            id=db.installation_id))
    finally:
        db.close()
    click.echo(_("Подключите ККТ заново: kkt-bridge connect --device URL --plugin ИМЯ"))


def register(group: click.Group) -> None:
    group.add_command(reset_command)

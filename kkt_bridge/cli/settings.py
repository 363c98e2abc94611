"""``kkt-bridge settings``: «Изменить настройки обновления».

Without options it shows the current settings. A change of goods sync (on or off) prints
the «Подтверждение» with the goods and groups that will be deleted and exits non-zero
unless ``--confirm`` is given. With a daemon running, the change is made by the daemon and
takes effect there at once.
"""

from __future__ import annotations

import click

from kkt_bridge.bridge.actions import Confirmation, SettingsChange, SettingsView
from kkt_bridge.bridge.periods import parse_period
from kkt_bridge.cli.backend import dialogues
from kkt_bridge.errors import (
    ConfirmationRequiredError,
    ConfirmationStaleError,
)
from kkt_bridge.i18n import _


def show_settings(settings: SettingsView) -> None:
    click.echo(_("Экспорт товаров: {period}").format(period=settings.goods_label))
    click.echo(_("Экспорт сотрудников: {period}").format(period=settings.employees_label))
    click.echo(_("{automatic} (проверка каждые {n} с)").format(
        automatic=settings.receipts_text, n=settings.receipts_interval))


def show_confirmation(confirmation: Confirmation) -> None:
    click.secho(confirmation.title, bold=True)
    click.echo(confirmation.warning)
    if confirmation.kind == "sync_off":
        click.echo(_("Товары и группы, добавленные на кассе (будут удалены при включении "
                     "синхронизации):"))
    else:
        click.echo(_("Будут удалены товары и группы, добавленные на кассе:"))
    if not confirmation.goods and not confirmation.groups:
        click.echo(_("  (сейчас таких нет)"))
    for group in confirmation.groups:
        click.echo(_("  группа: {name} [{id}]").format(name=group.name, id=group.id))
    for good in confirmation.goods:
        click.echo(_("  товар: {name} [{id}], код {code}").format(
            name=good.name, id=good.id, code=good.code or "—"))
    click.secho(f"[ {confirmation.button} ]", bold=True)


@click.command(name="settings", help=_(
    "Изменить настройки обновления: периоды обмена товарами и сотрудниками.\n\n"
    "Включение или отключение синхронизации товаров сначала показывает «Подтверждение»: "
    "список товаров и групп, которые будут удалены, и код подтверждения; ничего не меняется, "
    "пока команда не повторена с --confirm (или --confirm КОД)."))
@click.option("--device", default=None, metavar="URL",
              help=_("ККТ, если к бэк-офису подключено несколько."))
@click.option("--goods", default=None, metavar="PERIOD",
              help=_("Экспорт товаров: Никогда, 5 мин, 15 мин, 30 мин, 1 ч, 3 ч, 6 ч, 12 ч, 24 ч."))
@click.option("--employees", default=None, metavar="PERIOD",
              help=_("Экспорт сотрудников: тот же список периодов."))
@click.option("--receipts-interval", type=int, default=None, metavar="S",
              help=_("Как часто проверять новые чеки, секунд (по умолчанию 60)."))
@click.option("--confirm", "confirm", is_flag=False, flag_value="", default=None,
              metavar=_("[КОД]"),
              help=_("Подтвердить изменение синхронизации товаров. С КОДОМ из предпросмотра — "
                     "только если список удаляемого с тех пор не изменился."))
def settings_command(device: str | None, goods: str | None, employees: str | None,
                     receipts_interval: int | None, confirm: str | None) -> None:
    """Изменить настройки обновления: периоды обмена товарами и сотрудниками.

    Включение или отключение синхронизации товаров сначала показывает «Подтверждение»:
    список товаров и групп, которые будут удалены, и код подтверждения; ничего не меняется,
    пока команда не повторена с --confirm (или --confirm КОД)."""
    change = SettingsChange(
        goods_period=None if goods is None else parse_period(goods),
        employees_period=None if employees is None else parse_period(employees),
        receipts_interval=receipts_interval)
    with dialogues() as be:
        key = be.choose_register(device)
        if change == SettingsChange():
            show_settings(be.settings(key))
            return
        plan = be.preview_settings(key, change)
        token = None
        if plan.confirmation is not None:
            show_confirmation(plan.confirmation)
            if confirm is None:
                # the user sees the list first and decides in a second run
                click.echo(_("Код подтверждения: {token}").format(token=plan.confirmation.token))
                raise ConfirmationRequiredError(
                    _("настройки не сохранены: нужно подтверждение"),
                    _("чтобы подтвердить («{button}») именно этот список, повторите команду "
                      "с --confirm {token}").format(button=plan.confirmation.button,
                                                    token=plan.confirmation.token))
            # a bare --confirm confirms the list just shown
            token = confirm or plan.confirmation.token
        try:
            saved = be.apply_settings(key, change, token)
        except ConfirmationStaleError:
            # the list changed since the code was given: the new one is shown above
            assert plan.confirmation is not None
            click.echo(_("Код подтверждения: {token}").format(token=plan.confirmation.token))
            raise
        if saved.confirmed:
            click.echo(_("Подтверждено: «{button}»").format(button=saved.confirmed))
        click.secho(_("Настройки сохранены"), fg="green")
        show_settings(saved.settings)
        if saved.goods_pending:
            click.echo(_("Товары бэк-офиса будут загружены при ближайшем обмене "
                         "(«Обновить сейчас»: kkt-bridge sync now)."))


def register(group: click.Group) -> None:
    group.add_command(settings_command)

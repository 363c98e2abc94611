"""``kkt-bridge settings``: «Изменить настройки обновления».

Without options it shows the current settings. A change of goods sync (on or off) prints
the «Подтверждение» with the goods and groups that will be deleted and exits non-zero
unless ``--confirm`` is given.
"""

from __future__ import annotations

import click

from kkt_bridge.bridge import app
from kkt_bridge.bridge.periods import parse_period, period_label
from kkt_bridge.bridge.settings import (
    CONFIRM_BUTTON,
    CONFIRM_TITLE,
    RECEIPTS_AUTOMATIC,
    WARNING,
    SettingsPreview,
    apply_settings,
    preview_settings,
)
from kkt_bridge.errors import ConfirmationRequiredError
from kkt_bridge.i18n import _
from kkt_bridge.store import ExchangeSettings


def show_settings(settings: ExchangeSettings) -> None:
    click.echo(_("Экспорт товаров: {period}").format(period=period_label(settings.goods_period)))
    click.echo(_("Экспорт сотрудников: {period}").format(
        period=period_label(settings.employees_period)))
    click.echo(_("{automatic} (проверка каждые {n} с)").format(
        automatic=_(RECEIPTS_AUTOMATIC), n=settings.receipts_interval))


def show_confirmation(preview: SettingsPreview) -> None:
    assert preview.goods_change is not None
    click.secho(_(CONFIRM_TITLE), bold=True)
    click.echo(_(WARNING[preview.goods_change]))
    if preview.goods_change == "on":
        click.echo(_("Будут удалены товары и группы, добавленные на кассе:"))
    else:
        click.echo(_("Товары и группы, добавленные на кассе (будут удалены при включении "
                     "синхронизации):"))
    if not preview.goods_to_delete and not preview.groups_to_delete:
        click.echo(_("  (сейчас таких нет)"))
    for group in preview.groups_to_delete:
        click.echo(_("  группа: {name} [{id}]").format(name=group.name, id=group.id))
    for good in preview.goods_to_delete:
        click.echo(_("  товар: {name} [{id}], код {code}").format(
            name=good.name, id=good.id, code=good.code or "—"))
    click.secho(f"[ {_(CONFIRM_BUTTON[preview.goods_change])} ]", bold=True)


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
    db = app.store()
    try:
        key = app.choose_register(db, device)
        current = db.get_settings(key)
        if goods is None and employees is None and receipts_interval is None:
            show_settings(current)
            return
        new = ExchangeSettings(
            goods_period=current.goods_period if goods is None else parse_period(goods),
            employees_period=(current.employees_period if employees is None
                              else parse_period(employees)),
            receipts_interval=(current.receipts_interval if receipts_interval is None
                               else receipts_interval))
        preview = preview_settings(db, key, new)
        confirmation = preview.token
        if preview.needs_confirmation:
            assert preview.goods_change is not None and preview.token is not None
            button = _(CONFIRM_BUTTON[preview.goods_change])
            show_confirmation(preview)
            if confirm is None:
                # the user sees the list first and decides in a second run
                click.echo(_("Код подтверждения: {token}").format(token=preview.token))
                raise ConfirmationRequiredError(
                    _("настройки не сохранены: нужно подтверждение"),
                    _("чтобы подтвердить («{button}») именно этот список, повторите команду "
                      "с --confirm {token}").format(button=button, token=preview.token))
            if confirm:
                confirmation = confirm  # apply_settings refuses it if the list changed
            try:
                apply_settings(db, key, new, confirmation=confirmation)
            except ConfirmationRequiredError:
                # the list shown above is the current one: its token confirms it
                click.echo(_("Код подтверждения: {token}").format(token=preview.token))
                raise
            click.echo(_("Подтверждено: «{button}»").format(button=button))
        else:
            apply_settings(db, key, new, confirmation=confirmation)
        click.secho(_("Настройки сохранены"), fg="green")
        show_settings(new)
        if preview.goods_change == "on":
            click.echo(_("Товары бэк-офиса будут загружены при ближайшем обмене "
                         "(«Обновить сейчас»: kkt-bridge sync now)."))
    finally:
        db.close()


def register(group: click.Group) -> None:
    group.add_command(settings_command)

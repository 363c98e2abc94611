"""``kkt-bridge connect``: «Подключить ККТ» / «Настроить подключение» by a sync code."""

from __future__ import annotations

import click

from kkt_bridge.bridge import app
from kkt_bridge.bridge.pairing import CONNECTED, pair
from kkt_bridge.bridge.registers import observe, require_registered
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.logs import register_secret
from kkt_bridge.pluginmanager import BackOfficePluginManager
from kkt_bridge.store import Pairing, Store

CODE_PROMPT = "Введите код синхронизации с бэк-офисом"


def connect_dialogue(db: Store, pm: BackOfficePluginManager, kkt: Kkt, *, plugin: str,
                     endpoint: str | None, code: str | None, device: str) -> Pairing:
    """The seed's dialogue: «Подключить ККТ», the code, «Соединение установлено»."""
    observation = observe(kkt)
    require_registered(observation)
    click.secho(_("Подключить ККТ"), bold=True)
    click.echo(_("ККТ {model}, заводской № {serial}, ФН {fn}").format(
        model=observation.identity.model, serial=observation.identity.serial,
        fn=observation.identity.fn_number))
    if db.has_pairing(observation.key):
        click.echo(_("ККТ уже подключена; новое подключение заменит старое, только если "
                     "код подойдёт."))
    if code is None:
        code = click.prompt(_(CODE_PROMPT), hide_input=False)
    pairing = pair(db, pm, kkt, plugin=plugin, code=code, endpoint=endpoint, device_url=device)
    register_secret(pairing.credentials.token)
    click.secho(_(CONNECTED), fg="green", bold=True)
    creds = pairing.credentials
    click.echo(_("Бэк-офис: {backoffice}, организация: {account}, магазин: {shop}").format(
        backoffice=creds.backoffice, account=creds.account or "—", shop=creds.shop or "—"))
    click.echo(_("Настройте параметры обмена: kkt-bridge settings --goods ПЕРИОД "
                 "--employees ПЕРИОД. Экспорт чеков настроен автоматически."))
    return pairing


@click.command(name="connect", help=_(
    "Подключить ККТ к бэк-офису по коду синхронизации."))
@click.option("--device", "url", required=True, metavar="URL",
              help=_("Порт ККТ: /dev/ttyACM0, socket://host[:7778] ..."))
@click.option("--plugin", required=True, metavar="NAME",
              help=_("Модуль бэк-офиса (reference, moysklad ...)."))
@click.option("--backoffice", "endpoint", default=None, metavar="URL",
              help=_("Адрес бэк-офиса, если не по умолчанию."))
@click.option("--code", default=None, help=_("Код синхронизации (иначе будет запрошен)."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
def connect_command(url: str, plugin: str, endpoint: str | None, code: str | None,
                    driver: str | None) -> None:
    """Подключить ККТ к бэк-офису по коду синхронизации."""
    db = app.store()
    try:
        pm = app.plugin_manager()
        kkt = app.open_register(url, driver=driver)
        try:
            connect_dialogue(db, pm, kkt, plugin=plugin, endpoint=endpoint, code=code,
                             device=url)
        finally:
            kkt.close()
    finally:
        db.close()


def register(group: click.Group) -> None:
    group.add_command(connect_command)

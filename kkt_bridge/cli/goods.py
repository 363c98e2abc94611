"""``kkt-bridge goods``: «Товары» and «Группы товаров» added at the register.

The help page speaks of «товары (и группы товаров), добавленные вами через кассовое ПО»:
while goods sync with the back office is off, a cashier adds, edits and deletes them at the
register; they stay there, are not shown in the back office, and are deleted (after the
«Подтверждение» that lists them) when goods sync is turned on. While it is on, the
register's catalog is the back office's and every change here is refused with the reason.

Prices are typed in roubles (``49.90`` or ``49,90``) and kept in kopecks. A good or a group
is named by its code in brackets (``local:…`` for those added here) or by its exact name.
With a daemon running, the daemon makes the change (:mod:`kkt_bridge.cli.backend`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, replace
from typing import Any, TypeVar

import click

from kkt_bridge.bridge.actions import CatalogView, GoodInput, GoodView, GroupInput, GroupView
from kkt_bridge.bridge.periods import NEVER, period_label
from kkt_bridge.cli.backend import Dialogues, dialogues
from kkt_bridge.cli.money import VAT_NAMES, rubles, vat_code, vat_label
from kkt_bridge.errors import CatalogLockedError, ConfigError, ConfirmationRequiredError
from kkt_bridge.i18n import _
from kkt_bridge.money import format_rubles

#: where a good or a group came from, as the page says it too
ORIGINS = {"register": "касса", "backoffice": "бэк-офис"}

Named = TypeVar("Named", GoodView, GroupView)


@contextmanager
def _catalog(device: str | None) -> Iterator[tuple[Dialogues, str]]:
    """The dialogues and the register meant; a refusal because goods sync is on gets the
    command that turns it off as its hint."""
    with dialogues() as be:
        try:
            yield be, be.choose_register(device)
        except CatalogLockedError as exc:
            raise CatalogLockedError(exc.message, _(
                "измените товары в бэк-офисе или отключите синхронизацию товаров: {command} "
                "(товары из бэк-офиса останутся)").format(command=_sync_off())) from None


def _sync_off() -> str:
    """What to type to turn goods sync off («Изменить настройки обновления»)."""
    return f'kkt-bridge settings --goods "{period_label(NEVER)}"'


#: what a name that finds nothing, or several, is told: (not found, several), per kind
_NOT_FOUND = {
    "good": ("товар «{name}» не найден", "несколько товаров называются «{name}»: {ids}"),
    "group": ("группа товаров «{name}» не найдена",
              "несколько групп товаров называются «{name}»: {ids}"),
}


def _find(items: Sequence[Named], wanted: str, kind: str) -> Named:
    """The good or group (``kind``) whose code is ``wanted``, else the one so named."""
    wanted = wanted.strip()
    by_id = [item for item in items if item.id == wanted]
    if by_id:
        return by_id[0]
    by_name = [item for item in items if item.name.casefold() == wanted.casefold()]
    if len(by_name) == 1:
        return by_name[0]
    if by_name:
        raise ConfigError(_(_NOT_FOUND[kind][1]).format(
            name=wanted, ids=", ".join(item.id for item in by_name)),
            _("укажите код из квадратных скобок: kkt-bridge goods"))
    raise ConfigError(_(_NOT_FOUND[kind][0]).format(name=wanted),
                      _("посмотрите список: kkt-bridge goods"))


def _group_id(catalog: CatalogView, wanted: str | None) -> str | None:
    """``--group``/``--parent``: a code or a name; an empty value means none."""
    if wanted is None or not wanted.strip():
        return None
    return _find(catalog.groups, wanted, "group").id


def _origin(origin: str) -> str:
    return _(ORIGINS.get(origin, origin))


def _group_line(group: GroupView, names: dict[str, str]) -> str:
    parent = (_(", в группе «{group}»").format(
        group=names.get(group.parent_id, group.parent_id)) if group.parent_id else "")
    return _("  {name} [{id}]{parent}; откуда: {origin}").format(
        name=group.name, id=group.id, parent=parent, origin=_origin(group.origin))


def _good_line(good: GoodView, names: dict[str, str]) -> str:
    parts = [format_rubles(good.price)]
    if good.code:
        parts.append(_("код {code}").format(code=good.code))
    if good.barcodes:
        parts.append(_("штрихкоды {codes}").format(codes=", ".join(good.barcodes)))
    if good.group_id:
        parts.append(_("группа «{group}»").format(
            group=names.get(good.group_id, good.group_id)))
    # «none» is what --vat takes, not a word of the list: the list says it in the UI's words
    parts.append(_("без НДС") if vat_label(good.vat) == "none"
                 else _("НДС {vat}").format(vat=vat_label(good.vat)))
    if good.weighed:
        parts.append(_("весовой"))
    parts.append(_("откуда: {origin}").format(origin=_origin(good.origin)))
    return f"  {good.name} [{good.id}]: " + "; ".join(parts)


def show_catalog(catalog: CatalogView, *, goods: bool = True) -> None:
    """«Группы товаров», then «Товары» (unless ``goods`` is False), then who may edit."""
    names = {group.id: group.name for group in catalog.groups}
    click.secho(_("Группы товаров"), bold=True)
    for group in catalog.groups:
        click.echo(_group_line(group, names))
    if not catalog.groups:
        click.echo(_("  (нет)"))
    if goods:
        click.secho(_("Товары"), bold=True)
        for good in catalog.goods:
            click.echo(_good_line(good, names))
        if not catalog.goods:
            click.echo(_("  (нет)"))
    if catalog.editable:
        click.echo(_("Синхронизация товаров с бэк-офисом выключена: товары и группы можно "
                     "добавлять на кассе (kkt-bridge goods add, kkt-bridge goods groups add). "
                     "При её включении они удалятся после подтверждения."))
    else:
        click.echo(_("Синхронизация товаров с бэк-офисом включена: список совпадает с "
                     "бэк-офисом, изменить его на кассе нельзя."))


def _confirm(question: str, yes: bool, refused: str) -> None:
    """Nothing is deleted unless the person saw what and said yes (or gave --yes)."""
    if yes:
        return
    try:
        agreed = click.confirm(question, default=False)
    except click.Abort:
        agreed = False
    if not agreed:
        raise ConfirmationRequiredError(
            refused,
            _("подтвердите удаление или повторите команду с --yes"))


_DEVICE = click.option("--device", default=None, metavar="URL",
                       help=_("ККТ, если к бэк-офису подключено несколько."))
_JSON = click.option("--json", "as_json", is_flag=True, help=_("Вывести JSON."))
_YES = click.option("--yes", is_flag=True, help=_("Удалить без вопроса."))


@click.group(name="goods", invoke_without_command=True, help=_(
    "Товары и группы товаров, добавленные на кассе.\n\n"
    "Пока синхронизация товаров с бэк-офисом выключена, их можно добавлять, изменять и "
    "удалять здесь; в бэк-офисе они не отображаются и удаляются (после подтверждения) при "
    "включении синхронизации. Без команды — список."))
@_DEVICE
@_JSON
@click.pass_context
def goods_group(ctx: click.Context, device: str | None, as_json: bool) -> None:
    """Товары и группы товаров, добавленные на кассе."""
    if ctx.invoked_subcommand is None:
        _list(device, as_json)


def _list(device: str | None, as_json: bool, *, goods: bool = True) -> None:
    with _catalog(device) as (be, key):
        catalog = be.catalog(key)
    if not goods:
        catalog = replace(catalog, goods=())
    if as_json:
        click.echo(json.dumps(asdict(catalog), ensure_ascii=False, indent=1))
    else:
        show_catalog(catalog, goods=goods)


@goods_group.command(name="list", help=_("Товары и группы товаров на кассе."))
@_DEVICE
@_JSON
def list_command(device: str | None, as_json: bool) -> None:
    _list(device, as_json)


_VAT_HELP = _("Ставка НДС: {names} (по умолчанию none — без НДС).").format(
    names=", ".join(VAT_NAMES))


def _good_options(adding: bool) -> Any:
    def decorate(command: Any) -> Any:
        options = [
            click.option("--price", required=adding, default=None, metavar=_("РУБЛИ"),
                         help=_("Цена в рублях: 49.90 или 49,90.")),
            click.option("--code", default=None, metavar=_("КОД"),
                         help=_("Код товара в кассовом ПО (PLU).")),
            click.option("--barcode", "barcodes", multiple=True, metavar=_("ШТРИХКОД"),
                         help=_("Штрихкод; можно несколько раз.")),
            click.option("--group", default=None, metavar=_("ГРУППА"),
                         help=_("Группа товаров: код или название (\"\" — без группы).")),
            click.option("--vat", default=None, metavar=_("СТАВКА"), help=_VAT_HELP),
            click.option("--measure", default=None, metavar=_("ЕДИНИЦА"),
                         help=_("Единица измерения (по умолчанию шт).")),
            click.option("--weighed/--not-weighed", default=None,
                         help=_("Весовой товар.")),
            _DEVICE,
        ]
        for option in reversed(options):
            command = option(command)
        return command
    return decorate


def _name(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        raise ConfigError(_("наименование пустое"), _("укажите наименование"))
    return value


@goods_group.command(name="add", help=_("Добавить товар на кассе."))
@click.argument("name")
@_good_options(adding=True)
@click.option("--id", "good_id", default="", metavar=_("КОД"),
              help=_("Свой код товара (по умолчанию — новый local:…)."))
def add_command(name: str, price: str, code: str | None, barcodes: tuple[str, ...],
                group: str | None, vat: str | None, measure: str | None,
                weighed: bool | None, device: str | None, good_id: str) -> None:
    good = GoodInput(name=_name(name) or "", price=rubles(price, "--price"),
                     id=good_id.strip(), code=(code or "").strip(),
                     barcodes=tuple(b.strip() for b in barcodes if b.strip()),
                     measure=(measure or "").strip() or GoodInput.measure,
                     vat=vat_code(vat) if vat is not None else 6, weighed=bool(weighed))
    with _catalog(device) as (be, key):
        if group is not None:
            good = replace(good, group_id=_group_id(be.catalog(key), group))
        added = be.add_good(key, good)
    click.secho(_("Товар добавлен: {name} [{id}], {price}").format(
        name=added.name, id=added.id, price=format_rubles(added.price)), fg="green")


@goods_group.command(name="edit", help=_(
    "Изменить товар на кассе: указанные поля, остальные остаются."))
@click.argument("good")
@click.option("--name", default=None, metavar=_("НАЗВАНИЕ"), help=_("Новое наименование."))
@_good_options(adding=False)
def edit_command(good: str, name: str | None, price: str | None, code: str | None,
                 barcodes: tuple[str, ...], group: str | None, vat: str | None,
                 measure: str | None, weighed: bool | None, device: str | None) -> None:
    new_name = _name(name)
    new_price = rubles(price, "--price") if price is not None else None
    new_vat = vat_code(vat) if vat is not None else None
    with _catalog(device) as (be, key):
        catalog = be.catalog(key)
        old = _find(catalog.goods, good, "good")
        changed = GoodInput(
            name=new_name or old.name, price=old.price if new_price is None else new_price,
            id=old.id, group_id=old.group_id if group is None else _group_id(catalog, group),
            code=old.code if code is None else code.strip(),
            barcodes=tuple(b.strip() for b in barcodes if b.strip()) if barcodes
            else old.barcodes,
            measure=(measure or "").strip() or old.measure,
            vat=old.vat if new_vat is None else new_vat,
            weighed=old.weighed if weighed is None else weighed)
        edited = be.edit_good(key, old.id, changed)
    click.secho(_("Товар изменён: {name} [{id}], {price}").format(
        name=edited.name, id=edited.id, price=format_rubles(edited.price)), fg="green")


@goods_group.command(name="delete", help=_("Удалить товар с кассы (после вопроса)."))
@click.argument("good")
@_DEVICE
@_YES
def delete_command(good: str, device: str | None, yes: bool) -> None:
    with _catalog(device) as (be, key):
        found = _find(be.catalog(key).goods, good, "good")
        _confirm(_("Удалить товар «{name}» [{id}]?").format(name=found.name, id=found.id),
                 yes, _("товар не удалён: нужно подтверждение"))
        be.delete_good(key, found.id)
    click.secho(_("Товар удалён: {name}").format(name=found.name), fg="green")


# --- «Группы товаров» --------------------------------------------------------------------


@goods_group.group(name="groups", invoke_without_command=True,
                   help=_("Группы товаров, добавленные на кассе. Без команды — список."))
@_DEVICE
@_JSON
@click.pass_context
def groups_group(ctx: click.Context, device: str | None, as_json: bool) -> None:
    if ctx.invoked_subcommand is None:
        _list(device, as_json, goods=False)


@groups_group.command(name="add", help=_("Добавить группу товаров на кассе."))
@click.argument("name")
@click.option("--parent", default=None, metavar=_("ГРУППА"),
              help=_("Родительская группа: код или название."))
@click.option("--id", "group_id", default="", metavar=_("КОД"),
              help=_("Свой код группы (по умолчанию — новый local:…)."))
@_DEVICE
def group_add_command(name: str, parent: str | None, group_id: str,
                      device: str | None) -> None:
    group = GroupInput(name=_name(name) or "", id=group_id.strip())
    with _catalog(device) as (be, key):
        if parent is not None:
            group = replace(group, parent_id=_group_id(be.catalog(key), parent))
        added = be.add_group(key, group)
    click.secho(_("Группа товаров добавлена: {name} [{id}]").format(
        name=added.name, id=added.id), fg="green")


@groups_group.command(name="edit", help=_("Переименовать или перенести группу товаров."))
@click.argument("group")
@click.option("--name", default=None, metavar=_("НАЗВАНИЕ"), help=_("Новое название."))
@click.option("--parent", default=None, metavar=_("ГРУППА"),
              help=_("Родительская группа: код или название (\"\" — верхний уровень)."))
@_DEVICE
def group_edit_command(group: str, name: str | None, parent: str | None,
                       device: str | None) -> None:
    new_name = _name(name)
    with _catalog(device) as (be, key):
        catalog = be.catalog(key)
        old = _find(catalog.groups, group, "group")
        changed = GroupInput(name=new_name or old.name, id=old.id,
                             parent_id=old.parent_id if parent is None
                             else _group_id(catalog, parent))
        edited = be.edit_group(key, old.id, changed)
    click.secho(_("Группа товаров изменена: {name} [{id}]").format(
        name=edited.name, id=edited.id), fg="green")


@groups_group.command(name="delete", help=_(
    "Удалить пустую группу товаров с кассы (после вопроса)."))
@click.argument("group")
@_DEVICE
@_YES
def group_delete_command(group: str, device: str | None, yes: bool) -> None:
    with _catalog(device) as (be, key):
        found = _find(be.catalog(key).groups, group, "group")
        _confirm(_("Удалить группу товаров «{name}» [{id}]?").format(
            name=found.name, id=found.id), yes,
            _("группа товаров не удалена: нужно подтверждение"))
        be.delete_group(key, found.id)
    click.secho(_("Группа товаров удалена: {name}").format(name=found.name), fg="green")


def register(group: click.Group) -> None:
    group.add_command(goods_group)

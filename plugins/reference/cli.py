"""``kkt-bridge backoffice``: run and administer the reference back office; the reference
plugin contributes these commands to the CLI (one line in the table of ``cli/main.py``).

``serve`` prints its URL as the first line of stdout (flushed), so scripts and tests can read
it; ``add-register`` prints the new sync code as its last line; ``documents`` prints one
JSON per received document (the FNS JSON the bridge sent, a receipt's being the FNS
receipt JSON).
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from kkt_bridge.errors import ConfigError, StoreError
from kkt_bridge.i18n import _
from kkt_bridge.store.paths import data_dir

if TYPE_CHECKING:
    from kkt_bridge.plugins.reference.server import ReferenceBackOffice

DB_ENV = "KKT_BACKOFFICE_DB"


def default_db() -> Path:
    """Beside the bridge's own store (``KKT_BRIDGE_HOME`` or the user data directory)."""
    return data_dir() / "backoffice.sqlite3"


def _db_option(function: click.decorators.FC) -> click.decorators.FC:
    return click.option("--db", "db_path", envvar=DB_ENV, default=None, metavar="DB",
                        help=_("База бэк-офиса: файл SQLite (или sqlite:///путь) либо "
                               "postgresql://пользователь@хост:порт/база; по умолчанию "
                               "файл в каталоге данных kkt-bridge."))(function)


def _office(db_path: str | None, *, faults: str | None = None,
            code_ttl: timedelta = timedelta(hours=24), create: bool = True,
            open_ui: bool = False) -> ReferenceBackOffice:
    # imported lazily: the server stack is not needed by the bridge's other commands
    from kkt_bridge.plugins.reference.server import ReferenceBackOffice

    db = db_path or str(default_db())
    is_file = "://" not in db or db.startswith("sqlite://")
    path = Path(db.removeprefix("sqlite://"))
    if is_file and not create and not path.exists():
        # a typo must not leave an empty database behind
        raise StoreError(_("база бэк-офиса {path} не найдена").format(path=path),
                         _("укажите --db с файлом, который создал serve или add-register"))
    return ReferenceBackOffice(db, faults=faults, code_ttl=code_ttl, open_ui=open_ui)


@click.group(name="backoffice", help=_(
    "Эталонный бэк-офис: сервер с открытым API, кассы, коды синхронизации, документы."))
def backoffice_group() -> None:
    """Эталонный бэк-офис: сервер с открытым API, кассы, коды синхронизации, документы."""


@backoffice_group.command(name="serve", help=_(
    "Запустить сервер бэк-офиса; первая строка вывода — его адрес."))
@click.option("--host", default="127.0.0.1", show_default=True, metavar="HOST",
              help=_("Адрес для приёма."))
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              metavar="PORT",
              help=_("Порт; 0 — выбрать свободный."))
@_db_option
@click.option("--faults", default=None, metavar="SPEC",
              help=_("Сбои для проверки клиентов, например "
                      "429:every=3:retry_after=2,drop:first=1"))
@click.option("--seed-demo", is_flag=True,
              help=_("Заполнить демонстрационными товарами и сотрудниками."))
@click.option("--code-ttl", type=click.IntRange(1), default=24 * 3600, show_default=True,
              metavar=_("СЕКУНДЫ"),
              help=_("Срок действия кода синхронизации, секунд."))
@click.option("--ui", "open_ui", is_flag=True,
              help=_("Страницы «Мои Кассы» без входа (только для адреса 127.0.0.1)."))
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              metavar="N",
              help=_("Число процессов сервера (больше одного — только с PostgreSQL)."))
def serve_command(host: str, port: int, db_path: str | None, faults: str | None,
                  seed_demo: bool, code_ttl: int, open_ui: bool, workers: int) -> None:
    """Запустить сервер бэк-офиса; первая строка вывода — его адрес."""
    if open_ui and host not in ("127.0.0.1", "localhost", "::1"):
        raise ConfigError(_("страницы без входа можно открыть только на 127.0.0.1"),
                          _("уберите --ui или запустите с --host 127.0.0.1"))
    office = _office(db_path, faults=faults, code_ttl=timedelta(seconds=code_ttl),
                     open_ui=open_ui)
    if workers > 1 and not office.db.storage.multi_process:
        office.stop()
        raise ConfigError(_("--workers больше 1 возможно только с базой PostgreSQL: файл "
                            "SQLite пишет один процесс"),
                          _("укажите --db postgresql://… или уберите --workers"))
    if seed_demo:
        office.seed_demo()

    def ready(url: str) -> None:
        click.echo(url)
        sys.stdout.flush()
        click.echo(_("OpenAPI: {url}/openapi.json; база: {db}").format(
            url=url, db=office.db.storage.description), err=True)

    office.serve_forever(host, port, ready=ready, workers=workers)


@backoffice_group.command(name="openapi", help=_(
    "Напечатать описание API (OpenAPI), созданное из кода сервера."))
@click.option("--write", "write", is_flag=True,
              help=_("Записать его в plugins/reference/openapi.json."))
def openapi_command(write: bool) -> None:
    """Напечатать описание API (OpenAPI), созданное из кода сервера."""
    from kkt_bridge.plugins.reference.app import OPENAPI_PATH, openapi_text

    text = openapi_text()
    if write:
        OPENAPI_PATH.write_text(text, encoding="utf-8")
    else:
        click.echo(text, nl=False)


@backoffice_group.command(name="add-register", help=_(
    "«Мои Кассы» -> «Добавить ККТ»: выдать код синхронизации (последняя строка вывода)."))
@_db_option
@click.option("--shop", required=True, metavar=_("МАГАЗИН"),
              help=_("Магазин, к которому подключается касса."))
@click.option("--new-shop", is_flag=True,
              help=_("Создать магазин, если его ещё нет (иначе опечатка — ошибка)."))
def add_register_command(db_path: str | None, shop: str, new_shop: bool) -> None:
    """«Мои Кассы» -> «Добавить ККТ»: выдать код синхронизации (последняя строка вывода)."""
    office = _office(db_path)
    try:
        known = {s.name for s in office.db.shops()}
        if known and shop.strip() not in known and not new_shop:
            raise ConfigError(
                _("магазина «{shop}» нет; есть: {known}").format(
                    shop=shop.strip(), known=", ".join(sorted(known))),
                _("проверьте название или добавьте --new-shop, чтобы создать магазин"))
        code = office.issue_sync_code(shop)
        if shop.strip() not in known:
            click.echo(_("Создан магазин «{shop}»").format(shop=shop.strip()))
        hours = office.code_ttl.total_seconds() / 3600
        click.echo(_("Код синхронизации для магазина «{shop}» (одноразовый, действует "
                     "{hours:g} ч):").format(shop=shop.strip(), hours=hours))
        click.echo(code)
    finally:
        office.stop()


@backoffice_group.command(name="documents", help=_(
    "Полученные документы, по одному JSON на строку (чек — в формате JSON ФНС)."))
@_db_option
@click.option("--after", type=click.IntRange(0), default=0, metavar="N",
              help=_("Только документы с номером получения больше этого."))
@click.option("--envelope", is_flag=True,
              help=_("Печатать с ключом, кассой и временем получения вокруг JSON ФНС."))
def documents_command(db_path: str | None, after: int, envelope: bool) -> None:
    """Полученные документы, по одному JSON на строку (чек — в формате JSON ФНС)."""
    from kkt_bridge.plugins.reference.app import document_json

    office = _office(db_path, create=False)
    try:
        while True:  # in pages, so a large archive never sits in memory at once
            page = office.db.documents(after=after, limit=1000)
            for doc in page:
                if envelope:
                    obj = document_json(doc)
                    obj.pop("raw_b64")
                else:
                    obj = doc.fns
                click.echo(json.dumps(obj, ensure_ascii=False))
            if len(page) < 1000:
                break
            after = page[-1].id
    finally:
        office.stop()


@backoffice_group.command(name="seed", help=_(
    "Заполнить бэк-офис демонстрационными товарами (с группами, весовыми, штрихкодами) и "
    "сотрудниками. Повторный запуск ничего не меняет."))
@_db_option
def seed_command(db_path: str | None) -> None:
    """Заполнить бэк-офис демонстрационными товарами (с группами, весовыми, штрихкодами) и
    сотрудниками. Повторный запуск ничего не меняет."""
    office = _office(db_path)
    try:
        counts = office.seed_demo()
    finally:
        office.stop()
    click.echo(_("Магазинов: {shops}, групп: {groups}, товаров: {goods}, сотрудников: "
                 "{employees}").format(**counts))


@backoffice_group.command(name="registers", help=_("Подключённые кассы."))
@_db_option
def registers_command(db_path: str | None) -> None:
    """Подключённые кассы."""
    from rich.console import Console
    from rich.table import Table

    from kkt_bridge.plugins.reference.pages import when

    office = _office(db_path, create=False)
    try:
        registers = office.registers()
    finally:
        office.stop()
    table = Table(title=_("Мои Кассы"))
    for column in ("id", _("Магазин"), _("Заводской номер"), _("ФН"), _("Модель"),
                   _("Подключена"), _("Состояние")):
        table.add_column(column)
    for r in registers:
        table.add_row(str(r.id), r.shop, r.serial, r.fn_number, r.model, when(r.paired_at),
                      _("отключена") if r.revoked_at else _("активна"))
    Console(soft_wrap=True).print(table)


@backoffice_group.command(name="admin-token", help=_(
    "Токен администратора для /api/v1/admin (держите его в секрете)."))
@_db_option
def admin_token_command(db_path: str | None) -> None:
    """Токен администратора для /api/v1/admin (держите его в секрете)."""
    office = _office(db_path, create=False)
    try:
        click.echo(office.admin_token)
    finally:
        office.stop()


def register(group: click.Group) -> None:
    group.add_command(backoffice_group)

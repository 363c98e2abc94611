"""``kkt-bridge connect``: «Подключить ККТ» / «Настроить подключение» by a sync code.

With a daemon running, the pairing is done by the daemon (through its local API), which
owns the register's port, and takes effect there at once. The code comes from ``--code``,
``--code-file``, the environment (``KKT_BRIDGE_CODE``) or the prompt: a МойСклад token given
as ``--code`` is visible to every user of the machine in the process list.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from kkt_bridge.bridge.actions import Connected, RegisterStatus
from kkt_bridge.cli.backend import Dialogues, dialogues
from kkt_bridge.errors import ConfigError, NotPairedError, PairingError
from kkt_bridge.i18n import _

CODE_PROMPT = "Введите код синхронизации с бэк-офисом"
CODE_ENV = "KKT_BRIDGE_CODE"


def read_code(code: str | None, code_file: Path | None) -> str | None:
    """The code from the option, the file or the environment; None: ask for it."""
    if code_file is not None:
        try:
            text = code_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(_("файл с кодом {path} не прочитать: {error}").format(
                path=code_file, error=exc.strerror or exc),
                _("проверьте путь и права на файл")) from None
        if not text:
            raise ConfigError(_("файл с кодом {path} пуст").format(path=code_file),
                              _("запишите в него код синхронизации"))
        return text
    return code or os.environ.get(CODE_ENV) or None


def ask_code() -> str | None:
    """The code typed at the terminal; None for "later" (an empty line, or Ctrl+D).
    Ctrl+C raises KeyboardInterrupt: the caller leaves (``connect`` ends, ``run`` stops)."""
    try:
        typed = input(_(CODE_PROMPT) + " " + _("(пустая строка — позже)") + ": ")
    except EOFError:
        click.echo()
        return None
    return typed.strip() or None


def show_register(status: RegisterStatus) -> None:
    click.secho(_("Подключить ККТ"), bold=True)
    facts = status.facts
    if facts is not None:
        click.echo(_("ККТ {model}, заводской № {serial}, ФН {fn}").format(
            model=facts.model, serial=facts.serial, fn=facts.fn_number or "—"))
    if status.pairing is not None:
        click.echo(_("ККТ уже подключена; новое подключение заменит старое, только если "
                     "код подойдёт."))


def show_connected(connected: Connected) -> None:
    click.secho(connected.message, fg="green", bold=True)
    click.echo(_("Бэк-офис: {backoffice}, организация: {account}, магазин: {shop}").format(
        backoffice=connected.backoffice_title, account=connected.account or "—",
        shop=connected.shop or "—"))
    click.echo(_("Настройте параметры обмена: kkt-bridge settings --goods ПЕРИОД "
                 "--employees ПЕРИОД. Экспорт чеков настроен автоматически."))


def connect_dialogue(be: Dialogues, device: str, *, plugin: str | None,
                     endpoint: str | None, code: str | None, attempts: int = 3,
                     status: RegisterStatus | None = None) -> Connected | None:
    """The seed's dialogue on a terminal: the register, the code, «Соединение установлено».

    A mistyped code is asked again (``attempts`` in all) when the code was typed; an empty
    line means "later" (None) and Ctrl+C leaves (KeyboardInterrupt), nothing stored."""
    be.check_backoffice(plugin, endpoint)  # before the register is asked anything
    show_register(status or be.status(device))
    typed = code is None
    for attempt in range(attempts if typed else 1):
        if typed:
            try:
                code = ask_code()
            except KeyboardInterrupt:
                click.echo()
                click.echo(_("Подключение отложено: ничего не сохранено."))
                raise
            if code is None:
                click.echo(_("Подключение отложено: ничего не сохранено."))
                return None
        assert code is not None
        try:
            connected = be.connect(device, code, plugin=plugin, endpoint=endpoint)
        except PairingError as exc:
            if not typed or attempt + 1 == attempts:
                raise
            click.echo(_("Ошибка: ") + exc.for_people(), err=True)
            continue
        show_connected(connected)
        return connected
    return None


@click.command(name="connect", help=_(
    "Подключить ККТ к бэк-офису по коду синхронизации.\n\n"
    "Код можно передать файлом (--code-file) или переменной окружения KKT_BRIDGE_CODE; "
    "без них он будет запрошен. Код в --code виден другим пользователям компьютера в "
    "списке процессов: для токена МойСклад используйте файл, переменную или запрос."))
@click.option("--device", "url", default=None, metavar="URL",
              help=_("Порт ККТ: /dev/ttyACM0, socket://host[:порт] (7778 у Штрих-М, 5555 у "
                     "АТОЛ) ... (по умолчанию — ККТ, которую просит подключить kkt-bridge "
                     "run, или единственная подключённая)."))
@click.option("--plugin", default=None, metavar="NAME",
              help=_("Модуль бэк-офиса (reference, moysklad ...); у работающего kkt-bridge "
                     "run — заданный ему."))
@click.option("--backoffice", "endpoint", default=None, metavar="URL",
              help=_("Адрес бэк-офиса, если не по умолчанию."))
@click.option("--code", default=None, metavar=_("КОД"),
              help=_("Код синхронизации (виден в списке процессов: лучше --code-file)."))
@click.option("--code-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="PATH", help=_("Прочитать код синхронизации из файла."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
def connect_command(url: str | None, plugin: str | None, endpoint: str | None,
                    code: str | None, code_file: Path | None, driver: str | None) -> None:
    """Подключить ККТ к бэк-офису по коду синхронизации."""
    code = read_code(code, code_file)
    with dialogues(keep_new_store=False, driver=driver, name_wrong_driver=True) as be:
        if url is None:
            # the register the running daemon asks to connect, else the only paired one
            waiting = be.prompts()
            try:
                url = waiting[0].url if len(waiting) == 1 else be.choose_device(None)
            except NotPairedError:
                raise ConfigError(_("не указан порт ККТ"),
                                  _("укажите его: --device URL (найденные ККТ: kkt-bridge "
                                    "devices)")) from None
        device = url
        try:
            connected = connect_dialogue(be, device, plugin=plugin, endpoint=endpoint,
                                         code=code)
        except KeyboardInterrupt:
            raise SystemExit(130) from None
        if connected is None:
            raise SystemExit(1)


def register(group: click.Group) -> None:
    group.add_command(connect_command)

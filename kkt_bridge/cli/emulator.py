"""``kkt-bridge emulator``: an emulated register on a pseudo-terminal and/or a TCP port.

The first lines of stdout are the addresses it listens on (a pty path, ``socket://h:p``),
flushed at once, so a script can read them and point its cash software there; the last is
``control URL``, its keyboard (:mod:`kkt_bridge.emulation.control`). It serves until SIGINT
or SIGTERM, then stops and saves its state.

``kkt-bridge emulator register|reregister|replace-fn|open-shift|sell|close-shift|status
--at URL|STATE`` act on a running emulator as a service engineer and a cashier would.

The emulator is found through the driver plugin (its ``emulator`` front end, see
:mod:`kkt_bridge.driverapi`), so that a third-party driver can ship its own:
``--driver NAME`` picks it (shtrih by default).
"""

from __future__ import annotations

import functools
import json
import sys
import threading
from pathlib import Path
from typing import Any

import click

from kkt_bridge.cli.money import VAT_NAMES, rubles, vat_code
from kkt_bridge.driverapi import DEFAULT_DRIVER, get_emulator
from kkt_bridge.emulation.control import ControlServer, call
from kkt_bridge.emulation.profile import load_profile
from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _
from kkt_bridge.money import format_rubles
from kkt_bridge.stop_signals import stop_on_signals


def emulator_factory(driver_name: str = DEFAULT_DRIVER) -> Any:
    """A callable that makes the emulator of ``driver_name`` from keyword options of
    :class:`kkt_bridge.emulation.Emulator` (PluginError for an unknown driver)."""
    from kkt_bridge.emulation import Emulator

    return functools.partial(Emulator, get_emulator(driver_name))


@click.group("emulator", invoke_without_command=True,
             # one message, paragraphs and all: the group's help is translated again
             # by its whole text when shown (kkt_bridge.cli.main)
             help=_("Эмулятор ККТ: отвечает байт в байт, как настоящая.\n\n"
                    "Первые строки его вывода — адреса, на которых он слушает (псевдотерминал, "
                    "socket://…): их указывают кассовой программе и kkt-bridge --device. "
                    "Последняя — control http://…, адрес управления: его (или файл --state) "
                    "принимают в --at команды ниже. Работает до Ctrl-C и сохраняет "
                    "состояние в файл --state."))
@click.option("--driver", "driver_name", default=DEFAULT_DRIVER, show_default=True,
              metavar="shtrih|atol", help=_("Протокол эмулируемой ККТ: shtrih или atol."))
@click.option("--pty", "use_pty", is_flag=True,
              help=_("Псевдотерминал (по умолчанию, если не указан --tcp)."))
@click.option("--tcp", metavar="HOST:PORT", is_flag=False, flag_value="127.0.0.1",
              default=None, help=_("TCP-порт, как у сетевой ККТ (по умолчанию 127.0.0.1 и порт "
                                   "протокола: 7778 у Штрих-М, 5555 у АТОЛ)."))
@click.option("--state", type=click.Path(dir_okay=False, path_type=Path),
              help=_("Файл состояния: архив ФН, счётчики и таблицы переживают перезапуск."))
@click.option("--profile", type=click.Path(dir_okay=False, path_type=Path),
              help=_("JSON-профиль регистрации: ИНН, РНМ, СНО, ФФД, адрес."))
@click.option("--unregistered", is_flag=True,
              help=_("Новая ККТ, ещё не зарегистрированная."))
@click.option("--baud", type=click.IntRange(0), default=None, metavar="N",
              help=_("Скорость линии: байты идут не быстрее, чем на реальном порту."))
@click.option("--latency", type=click.FloatRange(0), default=None, metavar="MS",
              help=_("Задержка ответа на каждую команду, мс."))
@click.option("--faults", metavar="SPEC", default=None,
              help=_("Неисправности, например corrupt=0.01,nak=0.02,silent_after=100."))
@click.option("--seed", type=int, default=None, metavar="N",
              help=_("Зерно случайности: с ним неисправности повторяются байт в байт."))
@click.option("--no-stray-ff", is_flag=True,
              help=_("Только Штрих-М: не посылать лишний 0xFF после ACK по TCP (настоящие "
                     "ККТ посылают); то же, что --link-option stray_ff=0."))
@click.option("--link-option", "link_options", multiple=True, metavar="KEY=VALUE",
              help=_("Выбор эмулятора там, где протокол не описан (можно несколько): у "
                     "Штрих-М stray_ff=0, frame_while_held=ignore; у АТОЛ results=sync, "
                     "abort_reply=A1, ack_reply=A1, accept_ack_add=1."))
@click.option("--control-port", type=click.IntRange(0, 65535), default=0, show_default=True,
              metavar="PORT",
              help=_("Порт управления на 127.0.0.1 (0 — любой свободный)."))
@click.option("--no-control", is_flag=True,
              help=_("Без управления: команды register, sell и другие не смогут до него "
                     "достучаться."))
@click.pass_context
def emulator(ctx: click.Context, driver_name: str, use_pty: bool, tcp: str | None,
             state: Path | None, profile: Path | None, unregistered: bool, baud: int | None,
             latency: float | None, faults: str | None, seed: int | None, no_stray_ff: bool,
             control_port: int, no_control: bool, link_options: tuple[str, ...] = ()) -> None:
    """Эмулятор ККТ: отвечает байт в байт, как настоящая."""
    if ctx.invoked_subcommand is not None:
        return  # a command for a running emulator: it takes its own options
    if state is not None and state.parent and not state.parent.is_dir():
        raise ConfigError(_("каталог {path} не существует").format(path=state.parent),
                          _("создайте его или укажите другой --state"))
    if state is not None and (running := _running_on(state)) is not None:
        raise ConfigError(
            _("эмулятор с файлом состояния {path} уже запущен").format(path=state),
            _("команды kkt-bridge emulator ... --at {path} действуют на него; чтобы "
              "запустить ещё один, укажите другой --state (адрес управления запущенного: "
              "{url})").format(path=state, url=running))
    factory = emulator_factory(driver_name)
    options: dict[str, Any] = dict(link_option_values(link_options))
    known = get_emulator(driver_name).link_option_names
    if no_stray_ff:
        if "stray_ff" not in known:
            raise ConfigError(
                _("--no-stray-ff (stray_ff) — настройка эмулятора Штрих-М, у эмулятора "
                  "{driver} её нет").format(driver=driver_name),
                _("уберите --no-stray-ff; настройки эмулятора {driver}: {names}").format(
                    driver=driver_name, names=", ".join(sorted(known)) or "—"))
        options["stray_ff"] = False
    if set(options) - known:
        raise ConfigError(
            _("у эмулятора {driver} нет настроек {names}").format(
                driver=driver_name, names=", ".join(sorted(set(options) - known))),
            _("доступны: {names}").format(names=", ".join(sorted(known)) or "—"))
    # --profile with --unregistered: a new register that will be registered with the
    # profile's data (its serial and ФН number, if the profile fixes them, are used now)
    emu = factory(pty=use_pty or tcp is None, tcp=tcp, state_path=state, profile=profile,
                  registered=not unregistered, baud=baud, latency_ms=latency,
                  faults=faults, seed=seed, **options)
    if link_options:  # a link is a state machine without I/O: making one checks them now
        from kkt_bridge.emulation import FaultInjector

        try:
            emu.front_end.make_link(emu.device, FaultInjector(), "pty", emu.link_options)
        except (TypeError, ValueError) as exc:
            raise ConfigError(_("неверная настройка эмулятора: {reason}").format(reason=exc),
                              _("проверьте --link-option")) from None
    stop = threading.Event()
    control: ControlServer | None = None
    with stop_on_signals(stop.set):
        try:
            emu.start()
            if not no_control:
                control = ControlServer(emu, port=control_port, state_path=state).start()
            for url in emu.urls:
                click.echo(url)
            if control is not None:
                # the last line: the keyboard (kkt-bridge emulator sell --at URL ...)
                click.echo(f"control {control.url}")
            sys.stdout.flush()
            stop.wait()
        finally:
            if control is not None:
                control.stop()
            emu.stop()


def _running_on(state: Path) -> str | None:
    """The control URL of an emulator that serves ``state`` now (its ``STATE.control``
    answers), None when none does: two registers saving over one file would each lose the
    other's documents."""
    from kkt_bridge.emulation.control import resolve_control_url
    from kkt_bridge.errors import KktBridgeError

    try:
        url = resolve_control_url(str(state))
        call(url, "status", {}, timeout=3.0)
    except KktBridgeError:
        return None  # no control file, or one left by an emulator that is gone
    return url


def link_option_values(items: tuple[str, ...]) -> dict[str, str]:
    """``--link-option KEY=VALUE`` (each may repeat) as a dict; an item without ``=``
    is refused rather than read as an empty value."""
    options: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise ConfigError(
                _("--link-option {item}: ожидается КЛЮЧ=ЗНАЧЕНИЕ").format(item=item),
                _("например --link-option results=sync"))
        options[key.strip()] = value.strip()
    return options


# --- acting on a running emulator, as a cashier and a service engineer would ---------------

_AT = click.option(
    "--at", "at", required=True, metavar="URL|STATE",
    help=_("Запущенный эмулятор: URL управления, который он вывел (строка control), или "
           "его файл --state."))
_PROFILE = click.option(
    "--profile", type=click.Path(dir_okay=False, path_type=Path),
    help=_("JSON-профиль регистрации (по умолчанию — профиль эмулятора)."))


def _profile_data(profile: Path | None) -> dict[str, Any]:
    if profile is None:
        return {}
    return {"profile": load_profile(profile).to_json()}


def _say_document(what: str, answer: dict[str, Any]) -> None:
    click.echo(_("{what}: ФД {fd}, ФП {fp}").format(what=what, fd=answer["fd_number"],
                                                   fp=answer["fiscal_sign"]))


@emulator.command("register", help=_("Зарегистрировать ККТ (как инженер ЦТО)."))
@_AT
@_PROFILE
def register_command(at: str, profile: Path | None) -> None:
    _say_document(_("Отчёт о регистрации"), call(at, "register", _profile_data(profile)))


@emulator.command("reregister", help=_("Перерегистрировать ККТ: изменить параметры."))
@_AT
@_PROFILE
@click.option("--reason", type=click.IntRange(1, 4), default=4, show_default=True, metavar="N",
              help=_("Причина (тег 1101): 1 — замена ФН, 2 — смена ОФД, 3 — смена "
                     "реквизитов, 4 — смена настроек ККТ."))
def reregister_command(at: str, profile: Path | None, reason: int) -> None:
    answer = call(at, "reregister", {**_profile_data(profile), "reason": reason})
    _say_document(_("Отчёт об изменении параметров регистрации"), answer)


@emulator.command("replace-fn", help=_("Заменить ФН на новый и зарегистрировать ККТ с ним."))
@_AT
@_PROFILE
@click.option("--fn-number", metavar=_("16 ЦИФР"), default=None,
              help=_("Номер нового ФН (по умолчанию — новый случайный)."))
def replace_fn_command(at: str, profile: Path | None, fn_number: str | None) -> None:
    data = _profile_data(profile)
    if fn_number is not None:
        data["fn_number"] = fn_number
    answer = call(at, "replace-fn", data)
    click.echo(_("Новый ФН {number}").format(number=answer["fn_number"]))
    _say_document(_("Отчёт о регистрации"), answer)


def _cashier_options(command: Any) -> Any:
    command = click.option(
        "--cashier-inn", default=None, metavar=_("ИНН"),
        help=_("ИНН кассира, 12 цифр (тег 1203)."))(command)
    return click.option(
        "--cashier", default=None, metavar=_("ФИО"),
        help=_("Кассир за клавиатурой ККТ (тег 1021); по умолчанию — кассир ККТ "
               "(у Штрих-М — из таблицы кассиров, у АТОЛ — из профиля)."))(command)


def _cashier_data(cashier: str | None, cashier_inn: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if cashier is not None:
        data["cashier"] = cashier
    if cashier_inn is not None:
        data["cashier_inn"] = cashier_inn
    return data


@emulator.command("open-shift", help=_("Открыть смену."))
@_AT
@_cashier_options
def open_shift_command(at: str, cashier: str | None, cashier_inn: str | None) -> None:
    _say_document(_("Отчёт об открытии смены"),
                  call(at, "open-shift", _cashier_data(cashier, cashier_inn)))


@emulator.command("close-shift", help=_("Закрыть смену (Z-отчёт)."))
@_AT
@_cashier_options
def close_shift_command(at: str, cashier: str | None, cashier_inn: str | None) -> None:
    _say_document(_("Отчёт о закрытии смены"),
                  call(at, "close-shift", _cashier_data(cashier, cashier_inn)))


OPERATION_NAMES = {"sale": 1, "sale-return": 2, "purchase": 3, "purchase-return": 4}


def parse_item(text: str) -> dict[str, Any]:
    """``NAME:PRICE[:QUANTITY[:VAT]]``; the name may hold colons, the fields after it not."""
    parts = text.split(":")
    # the name ends where the (at most three) fields that look like numbers begin
    start = len(parts)
    while start > 1 and len(parts) - start < 3 and _looks_numeric(parts[start - 1]):
        start -= 1
    name, fields = ":".join(parts[:start]).strip(), parts[start:]
    if not name or not fields:
        raise ConfigError(_("позиция «{text}» задана неверно").format(text=text),
                          _("формат: НАЗВАНИЕ:ЦЕНА[:КОЛИЧЕСТВО[:НДС]], например "
                            "Хлеб:49.90:2:10"))
    item: dict[str, Any] = {"name": name, "price": rubles(fields[0], name)}
    if len(fields) > 1:
        quantity = fields[1].strip().replace(",", ".")
        if quantity.startswith("-") or not quantity.strip("0."):
            raise ConfigError(
                _("позиция «{name}»: количество «{quantity}» должно быть больше нуля").format(
                    name=name, quantity=fields[1]),
                _("например {name}:{price}:2 или {name}:{price}:0.5").format(
                    name=name, price=fields[0].strip()))
        item["quantity"] = quantity
    if len(fields) > 2:
        item["vat"] = vat_code(fields[2])
    return item


def _looks_numeric(text: str) -> bool:
    # a minus or spaces still make a field, so that its own check says what is wrong with
    # it («-1» is a negative price, not part of the item's name)
    text = text.strip().lower().removesuffix("%").strip()  # a VAT rate as «20%»
    return text in VAT_NAMES or text.lstrip("-").replace(",", ".").replace(".", "", 1).isdigit()


@emulator.command("sell", help=_("Пробить чек: позиции и оплаты."))
@_AT
@click.option("--item", "items", multiple=True, required=True,
              metavar=_("НАЗВАНИЕ:ЦЕНА[:КОЛ-ВО[:НДС]]"),
              help=_("Позиция чека; НДС: 20, 10, 20/120, 10/110, 0 или none (по умолчанию)."))
@click.option("--cash", default=None, metavar=_("РУБЛИ"),
              help=_("Наличными (по умолчанию — итог чека, если не указано --electronic)."))
@click.option("--electronic", default=None, metavar=_("РУБЛИ"), help=_("Безналичными."))
@click.option("--operation", type=click.Choice(list(OPERATION_NAMES)), default="sale",
              show_default=True, help=_("Признак расчёта (тег 1054)."))
@_cashier_options
def sell_command(at: str, items: tuple[str, ...], cash: str | None, electronic: str | None,
                 operation: str, cashier: str | None, cashier_inn: str | None) -> None:
    data: dict[str, Any] = {"items": [parse_item(text) for text in items],
                            "operation": OPERATION_NAMES[operation],
                            **_cashier_data(cashier, cashier_inn)}
    if cash is not None or electronic is not None:
        data["payments"] = {"cash": rubles(cash or "0", "--cash"),
                            "electronic": rubles(electronic or "0", "--electronic")}
    answer = call(at, "sell", data)
    click.echo(_("Чек {receipt} смены {shift}: итог {total}, сдача {change}; ФД {fd}, "
                 "ФП {fp}").format(receipt=answer["receipt_number"],
                                   shift=answer["shift_number"],
                                   total=format_rubles(answer["total"]),
                                   change=format_rubles(answer["change"]),
                                   fd=answer["fd_number"], fp=answer["fiscal_sign"]))


@emulator.command("status", help=_("Что сейчас с эмулятором: номера, смена, ФН."))
@_AT
@click.option("--json", "as_json", is_flag=True,
              help=_("Всё, что эмулятор говорит о себе, одним JSON-объектом (с байтами "
                     "линий и временем процессора)."))
def status_command(at: str, as_json: bool) -> None:
    answer = call(at, "status", {})
    answer.pop("ok", None)
    if as_json:
        click.echo(json.dumps(answer, ensure_ascii=False, indent=1))
        return
    from rich.console import Console
    from rich.table import Table

    from kkt_bridge.driverapi import load_drivers
    from kkt_bridge.emulation.controlpage import status_rows

    driver = load_drivers().get(str(answer.get("driver", "")))
    protocol = _(driver.title) if driver is not None else str(answer.get("driver", ""))
    table = Table(title=_("Эмулятор ККТ"), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for name, value in status_rows(answer, protocol):
        table.add_row(name, value)
    Console(soft_wrap=True).print(table)


def register(group: click.Group) -> None:
    group.add_command(emulator)

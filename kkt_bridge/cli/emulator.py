"""``kkt-bridge emulator``: an emulated register on a pseudo-terminal and/or a TCP port.

The first lines of stdout are the addresses it listens on (a pty path, ``socket://h:p``),
flushed at once, so a script can read them and point its cash software there. It serves
until SIGINT or SIGTERM, then stops and saves its state.

The emulator is found through the driver plugin (its ``emulator`` front end, see
:mod:`kkt_bridge.driverapi`), so that a third-party driver can ship its own:
``--driver NAME`` picks it (shtrih by default).
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import click

from kkt_bridge.driverapi import DEFAULT_DRIVER, get_emulator
from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _


def emulator_factory(driver_name: str = DEFAULT_DRIVER) -> Any:
    """A callable that makes the emulator of ``driver_name`` from keyword options of
    :class:`kkt_bridge.emulation.Emulator` (PluginError for an unknown driver)."""
    from kkt_bridge.emulation import Emulator

    return functools.partial(Emulator, get_emulator(driver_name))


@click.command("emulator", help=_("Эмулятор ККТ: отвечает байт в байт, как настоящая."))
@click.option("--driver", "driver_name", default=DEFAULT_DRIVER, show_default=True,
              help=_("Протокол эмулируемой ККТ: shtrih или atol."))
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
@click.option("--baud", type=click.IntRange(0), default=None,
              help=_("Скорость линии: байты идут не быстрее, чем на реальном порту."))
@click.option("--latency", type=click.FloatRange(0), default=None, metavar="MS",
              help=_("Задержка ответа на каждую команду, мс."))
@click.option("--faults", metavar="SPEC", default=None,
              help=_("Неисправности, например corrupt=0.01,nak=0.02,silent_after=100."))
@click.option("--seed", type=int, default=None,
              help=_("Зерно случайности: с ним неисправности повторяются байт в байт."))
@click.option("--no-stray-ff", is_flag=True,
              help=_("Не посылать лишний 0xFF после ACK по TCP (настоящие ККТ посылают)."))
@click.option("--link-option", "link_options", multiple=True, metavar="KEY=VALUE",
              help=_("Выбор эмулятора там, где протокол не описан, например у АТОЛ "
                     "results=sync, abort_reply=A1, ack_reply=A1, accept_ack_add=1."))
def emulator(driver_name: str, use_pty: bool, tcp: str | None, state: Path | None,
             profile: Path | None, unregistered: bool, baud: int | None, latency: float | None,
             faults: str | None, seed: int | None, no_stray_ff: bool,
             link_options: tuple[str, ...] = ()) -> None:
    """Эмулятор ККТ: отвечает байт в байт, как настоящая."""
    if state is not None and state.parent and not state.parent.is_dir():
        raise ConfigError(_("каталог {path} не существует").format(path=state.parent),
                          _("создайте его или укажите другой --state"))
    factory = emulator_factory(driver_name)
    options: dict[str, Any] = {}
    if no_stray_ff:
        options["stray_ff"] = False
    for item in link_options:
        key, _eq, value = item.partition("=")
        options[key.strip()] = value.strip()
    known = get_emulator(driver_name).link_option_names if options else frozenset()
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

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        emu.start()
        for url in emu.urls:
            click.echo(url)
        sys.stdout.flush()
        while not stop.wait(0.5):  # wakes for signals: a bare wait() would defer them
            pass
    finally:
        emu.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def register(group: click.Group) -> None:
    group.add_command(emulator)

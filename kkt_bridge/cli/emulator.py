"""``kkt-bridge emulator``: an emulated register on a pseudo-terminal and/or a TCP port.

The first lines of stdout are the addresses it listens on (a pty path, ``socket://h:p``),
flushed at once, so a script can read them and point its cash software there. It serves
until SIGINT or SIGTERM, then stops and saves its state.

The emulator is found through the driver plugin (its ``emulator`` attribute, a
``"module:attribute"`` path), so that a third-party driver can ship its own.
"""

from __future__ import annotations

import signal
import sys
import threading
from importlib import import_module
from pathlib import Path
from types import FrameType
from typing import Any

import click

from kkt_bridge.errors import ConfigError, PluginError
from kkt_bridge.i18n import _

DRIVER = "shtrih"
_FALLBACK = "kkt_bridge.drivers.shtrih.emulator.api:Emulator"


def emulator_factory(driver_name: str = DRIVER) -> Any:
    """The emulator class a driver plugin offers (keyword options of
    :class:`kkt_bridge.drivers.shtrih.emulator.api.Emulator`)."""
    from kkt_bridge.driverapi import get_driver

    try:
        target = getattr(get_driver(driver_name), "emulator", None)
    except PluginError:
        if driver_name != DRIVER:
            raise
        target = None
    if target is None:
        if driver_name != DRIVER:
            raise PluginError(_("драйвер {name} не предлагает эмулятор").format(name=driver_name),
                              _("эмулятор есть у драйвера shtrih"))
        target = _FALLBACK
    if isinstance(target, str):
        module, _sep, attribute = target.partition(":")
        return getattr(import_module(module), attribute)
    return target


@click.command("emulator", help=_("Эмулятор ККТ Штрих-М: отвечает байт в байт, как настоящая."))
@click.option("--pty", "use_pty", is_flag=True,
              help=_("Псевдотерминал (по умолчанию, если не указан --tcp)."))
@click.option("--tcp", metavar="HOST:PORT", is_flag=False, flag_value="127.0.0.1:7778",
              default=None, help=_("TCP-порт, как у сетевой ККТ (по умолчанию 127.0.0.1:7778)."))
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
def emulator(use_pty: bool, tcp: str | None, state: Path | None, profile: Path | None,
             unregistered: bool, baud: int | None, latency: float | None,
             faults: str | None, seed: int | None, no_stray_ff: bool) -> None:
    """Эмулятор ККТ Штрих-М: отвечает байт в байт, как настоящая."""
    if profile is not None and unregistered:
        raise ConfigError(_("--profile и --unregistered несовместимы"),
                          _("профиль задаёт регистрацию; для новой ККТ уберите --profile"))
    if state is not None and state.parent and not state.parent.is_dir():
        raise ConfigError(_("каталог {path} не существует").format(path=state.parent),
                          _("создайте его или укажите другой --state"))
    factory = emulator_factory()
    emu = factory(pty=use_pty or tcp is None, tcp=tcp, state_path=state, profile=profile,
                  registered=not unregistered, baud=baud, latency_ms=latency,
                  faults=faults, seed=seed, stray_ff=not no_stray_ff)
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

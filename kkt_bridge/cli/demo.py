"""``kkt-bridge demo``: the one-command tour (see :mod:`kkt_bridge.demo`)."""

from __future__ import annotations

import threading
from pathlib import Path

import click
from rich.console import Console

from kkt_bridge.driverapi import DEFAULT_DRIVER
from kkt_bridge.i18n import _
from kkt_bridge.stop_signals import stop_on_signals


def _open_in_browser(url: str) -> None:
    import webbrowser

    if not webbrowser.open(url):
        click.echo(_("Браузер не открылся: откройте ссылку выше сами."), err=True)


def register(group: click.Group) -> None:
    @group.command("demo", help=_(
        "Эмулятор ККТ + эталонный бэк-офис: подключение, обмен, продажи, выгрузка."))
    @click.option("--once", is_flag=True,
                  help=_("Пройти сценарий один раз, показать итог и выйти."))
    @click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
                  help=_("Каталог для данных демонстрации (по умолчанию временный)."))
    @click.option("--interval", type=click.FloatRange(1, 3600), default=10.0,
                  show_default=True, metavar=_("СЕКУНДЫ"),
                  help=_("Пауза между продажами без --once, секунды."))
    @click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True,
                  metavar="PORT",
                  help=_("Порт страницы kkt-bridge на 127.0.0.1 (0: любой свободный)."))
    @click.option("--open", "open_page", is_flag=True,
                  help=_("Открыть страницу kkt-bridge в браузере."))
    @click.option("--driver", default=DEFAULT_DRIVER, show_default=True, metavar="shtrih|atol",
                  help=_("Протокол эмулируемой ККТ: shtrih или atol."))
    def demo(once: bool, home: Path | None, interval: float, port: int,
             open_page: bool, driver: str) -> None:
        """Эмулятор ККТ + эталонный бэк-офис: подключение, обмен, продажи, выгрузка."""
        from kkt_bridge.demo import run_demo

        stop = threading.Event()
        with stop_on_signals(stop.set):
            run_demo(Console(), once=once, home=home, interval=interval, stop=stop, port=port,
                     on_page=_open_in_browser if open_page else None, driver=driver)

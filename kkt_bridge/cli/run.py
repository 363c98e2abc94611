"""``kkt-bridge run``: the daemon (watcher + scheduler) for one or several registers.

SIGTERM or Ctrl+C stops it gracefully: the job in hand ends its current step. With
``--plugin`` on a terminal, a register that needs pairing opens the «Подключить ККТ»
dialogue right here. ``--log-format``/``--log-level`` are the format every command logs in
(:mod:`kkt_bridge.logs`); ``--metrics-port``/``--metrics-file`` publish the daemon's
:class:`kkt_bridge.metrics.Metrics` for Prometheus; ``--hotplug`` picks how plugging and
unplugging a register is noticed.
"""

from __future__ import annotations

import logging
import queue
import signal
import sys
from http.server import ThreadingHTTPServer
from pathlib import Path
from types import FrameType

import click

from kkt_bridge import registers
from kkt_bridge.bridge import app
from kkt_bridge.bridge.daemon import (
    DEFAULT_POLL_INTERVAL,
    HOTPLUG_BACKENDS,
    Daemon,
    paired_urls,
)
from kkt_bridge.bridge.watcher import Prompt
from kkt_bridge.errors import ConfigError, KktBridgeError, PairingError
from kkt_bridge.i18n import _
from kkt_bridge.logs import FORMATS, logging_configured
from kkt_bridge.metrics import Metrics

log = logging.getLogger(__name__)

CODE_ATTEMPTS = 3


def show_prompts(daemon: Daemon, prompts: queue.Queue[Prompt], *, plugin: str,
                 endpoint: str | None) -> int:
    """«Подключить ККТ» for each register the watcher flagged; returns how many paired."""
    from kkt_bridge.cli.connect import connect_dialogue  # a command imports only itself

    paired = 0
    while not prompts.empty():
        prompt = prompts.get_nowait()
        link = next(lk for lk in daemon.links if lk.url == prompt.url)
        click.echo(_("{reason}: {url}").format(reason=prompt.reason_text, url=prompt.url))
        with link.lock:
            for _attempt in range(CODE_ATTEMPTS):
                try:
                    connect_dialogue(daemon.store, daemon.scheduler.pm, link.kkt(),
                                     plugin=plugin, endpoint=endpoint, code=None,
                                     device=prompt.url)
                    paired += 1
                    break
                except PairingError as exc:  # a mistyped code: ask again
                    click.echo(_("Ошибка: ") + str(exc), err=True)
                except KktBridgeError as exc:
                    click.echo(_("Ошибка: ") + str(exc), err=True)
                    break
            link.drop()
    return paired


@click.command(name="run", help=_(
    "Работать постоянно: следить за ККТ и обмениваться с бэк-офисом по расписанию."))
@click.option("--device", "urls", multiple=True, metavar="URL",
              help=_("Порт ККТ (можно несколько раз); по умолчанию все подключённые ККТ."))
@click.option("--log-format", type=click.Choice(FORMATS), default="text",
              show_default=True, help=_("Формат журнала."))
@click.option("--log-level", default="INFO", show_default=True, help=_("Уровень журнала."),
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--poll-interval", type=click.FloatRange(0.1, 3600), default=DEFAULT_POLL_INTERVAL,
              show_default=True, help=_("Как часто опрашивать ККТ, секунд."))
@click.option("--plugin", default=None, metavar="NAME",
              help=_("Модуль бэк-офиса для диалога «Подключить ККТ» (в терминале)."))
@click.option("--backoffice", "endpoint", default=None, metavar="URL",
              help=_("Адрес бэк-офиса для диалога подключения."))
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help=_("Отдавать метрики Prometheus на http://127.0.0.1:PORT/metrics "
                     "(0: свободный порт, адрес в журнале)."))
@click.option("--metrics-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="PATH", help=_("Записывать метрики в файл для node_exporter (textfile)."))
@click.option("--hotplug", type=click.Choice(HOTPLUG_BACKENDS), default="auto",
              show_default=True,
              help=_("Как замечать подключение ККТ: udev, опрос портов или никак."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
def run_command(urls: tuple[str, ...], log_format: str, log_level: str, poll_interval: float,
                plugin: str | None, endpoint: str | None, metrics_port: int | None,
                metrics_file: Path | None, hotplug: str, driver: str | None) -> None:
    """Работать постоянно: следить за ККТ и обмениваться с бэк-офисом по расписанию."""
    with logging_configured(log_format, log_level):
        _run(urls, poll_interval, plugin, endpoint, metrics_port, metrics_file, hotplug,
             driver)


def serve_metrics(metrics: Metrics, port: int) -> ThreadingHTTPServer:
    try:
        return metrics.serve("127.0.0.1", port)
    except OSError as exc:
        raise ConfigError(_("порт метрик {port} не открыть: {error}").format(
            port=port, error=exc.strerror or exc),
            _("укажите другой --metrics-port или остановите программу, которая его "
              "занимает")) from None


def _run(urls: tuple[str, ...], poll_interval: float, plugin: str | None,
         endpoint: str | None, metrics_port: int | None, metrics_file: Path | None,
         hotplug: str, driver: str | None = None) -> None:
    db = app.store()
    server: ThreadingHTTPServer | None = None
    try:
        devices = list(urls) or paired_urls(db)
        if not devices:
            raise ConfigError(_("нет ККТ, подключённой к бэк-офису"),
                              _("укажите --device URL или выполните «kkt-bridge connect»"))
        prompts: queue.Queue[Prompt] = queue.Queue()
        interactive = plugin is not None and sys.stdin.isatty()
        pm = app.plugin_manager()
        opener = registers.opener(driver, registers.recorded_drivers(db.registers()),
                                  app.open_register)
        daemon = Daemon(db, pm, devices, opener=opener, poll_interval=poll_interval,
                        on_prompt=prompts.put if interactive else None, hotplug=hotplug,
                        metrics_file=metrics_file)
        if metrics_port is not None:
            server = serve_metrics(daemon.metrics, metrics_port)
            log.info("metrics at http://127.0.0.1:%d/metrics", server.server_address[1])
        daemon.write_metrics()

        def stop(signum: int, frame: FrameType | None) -> None:
            daemon.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)

        def between() -> None:
            if interactive:
                assert plugin is not None
                show_prompts(daemon, prompts, plugin=plugin, endpoint=endpoint)

        daemon.run(between=between)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        db.close()


def register(group: click.Group) -> None:
    group.add_command(run_command)

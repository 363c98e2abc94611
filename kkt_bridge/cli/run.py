"""``kkt-bridge run``: the daemon (watcher + scheduler) for one or several registers.

SIGTERM or Ctrl+C stops it gracefully: the job in hand ends its current step. With
``--plugin`` on a terminal, a register that needs pairing opens the «Подключить ККТ»
dialogue right here.
"""

from __future__ import annotations

import queue
import signal
import sys
from types import FrameType

import click

from kkt_bridge.bridge import app
from kkt_bridge.bridge.daemon import DEFAULT_POLL_INTERVAL, Daemon, paired_urls
from kkt_bridge.bridge.watcher import Prompt
from kkt_bridge.cli.connect import connect_dialogue
from kkt_bridge.errors import ConfigError, KktBridgeError, PairingError
from kkt_bridge.i18n import _
from kkt_bridge.logs import configure_logging

CODE_ATTEMPTS = 3


def show_prompts(daemon: Daemon, prompts: queue.Queue[Prompt], *, plugin: str,
                 endpoint: str | None) -> int:
    """«Подключить ККТ» for each register the watcher flagged; returns how many paired."""
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


@click.command(name="run")
@click.option("--device", "urls", multiple=True, metavar="URL",
              help="Порт ККТ (можно несколько раз); по умолчанию все подключённые ККТ.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Формат журнала.")
@click.option("--log-level", default="INFO", show_default=True, help="Уровень журнала.")
@click.option("--poll-interval", type=click.FloatRange(0.1, 3600), default=DEFAULT_POLL_INTERVAL,
              show_default=True, help="Как часто опрашивать ККТ, секунд.")
@click.option("--plugin", default=None, metavar="NAME",
              help="Модуль бэк-офиса для диалога «Подключить ККТ» (в терминале).")
@click.option("--backoffice", "endpoint", default=None, metavar="URL",
              help="Адрес бэк-офиса для диалога подключения.")
def run_command(urls: tuple[str, ...], log_format: str, log_level: str, poll_interval: float,
                plugin: str | None, endpoint: str | None) -> None:
    """Работать постоянно: следить за ККТ и обмениваться с бэк-офисом по расписанию."""
    configure_logging(log_format, log_level)
    db = app.store()
    try:
        devices = list(urls) or paired_urls(db)
        if not devices:
            raise ConfigError(_("нет ККТ, подключённой к бэк-офису"),
                              _("укажите --device URL или выполните «kkt-bridge connect»"))
        prompts: queue.Queue[Prompt] = queue.Queue()
        interactive = plugin is not None and sys.stdin.isatty()
        pm = app.plugin_manager()
        daemon = Daemon(db, pm, devices, opener=app.open_register, poll_interval=poll_interval,
                        on_prompt=prompts.put if interactive else None)

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
        db.close()


def register(group: click.Group) -> None:
    group.add_command(run_command)

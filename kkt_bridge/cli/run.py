"""``kkt-bridge run``: the daemon, the one owner of the registers, and its local page.

It starts with nothing paired: it watches the registers given with ``--device``, the paired
ones and those discovery finds, and never exits for want of a register. On start it prints
the page's address with a one-time login token on a line of its own (``kkt-bridge ui``
prints a fresh one). A register that needs pairing raises the «Подключить ККТ» prompt on the
page, to the plugins' hook and, on a terminal, right here (with ``--plugin``, only the code
is asked). A second daemon on the same store is refused.

Each register it serves gets a shared port (:mod:`kkt_bridge.share`, ``--no-share`` to go
without): a pty named ``<run dir>/<device name>`` (and with ``--share-tcp`` a TCP port on
127.0.0.1) through which unmodified cash software reaches the register; the names are
printed as they open, and a document the cash software makes is exported at once.

SIGTERM or Ctrl+C stops it gracefully: the job in hand ends its current step.
``--log-format``/``--log-level`` are the format every command logs in
(:mod:`kkt_bridge.logs`); ``--metrics-file`` writes the metrics for node_exporter, which the
page's server also serves on ``/metrics``.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from http.server import ThreadingHTTPServer
from pathlib import Path

import click

from kkt_bridge import registers
from kkt_bridge.bridge import app
from kkt_bridge.bridge.actions import BackOfficePreset
from kkt_bridge.bridge.actions.core import connect_options, pick_backoffice
from kkt_bridge.bridge.daemon import (
    DEFAULT_POLL_INTERVAL,
    HOTPLUG_BACKENDS,
    Daemon,
    discovered_urls,
    paired_urls,
)
from kkt_bridge.bridge.presence import LinkChange
from kkt_bridge.bridge.prompts import ConnectPrompt
from kkt_bridge.bridge.watcher import REASON_TEXT
from kkt_bridge.errors import ConfigError, KktBridgeError
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.logs import FORMATS, logging_configured
from kkt_bridge.metrics import Metrics
from kkt_bridge.share.paths import LOOPBACK
from kkt_bridge.share.ports import SharedPortInfo
from kkt_bridge.share.service import STATE_FILE, SharedPorts
from kkt_bridge.stop_signals import stop_on_signals
from kkt_bridge.store import Store
from kkt_bridge.web.server import DEFAULT_PORT

log = logging.getLogger(__name__)


class TerminalPrompts:
    """The connect prompts of the board, each shown once on this terminal (or, with no
    terminal, said once on stdout with the way to pair)."""

    def __init__(self, daemon: Daemon, *, interactive: bool, page: str) -> None:
        self.daemon = daemon
        self.interactive = interactive
        self.page = page
        self._shown: set[int] = set()

    def show(self) -> None:
        for prompt in self.daemon.board.current():
            if prompt.id in self._shown:
                continue
            self._shown.add(prompt.id)
            self._show(prompt)

    def _show(self, prompt: ConnectPrompt) -> None:
        from kkt_bridge.cli.connect import connect_dialogue

        click.echo(_("{reason}: {url}").format(reason=_(REASON_TEXT[prompt.reason]),
                                               url=prompt.url))
        options = self.daemon.actions.connect_options()
        if not (self.interactive and options.code_only):
            click.echo(_("Подключите ККТ на странице {page} (ссылка для входа: kkt-bridge ui) "
                         "или командой kkt-bridge connect --device {url}").format(
                page=self.page, url=prompt.url))
            return
        # Ctrl+C at the code prompt must reach the dialogue, not only set the stop flag
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            connected = connect_dialogue(self.daemon.actions, prompt.url, plugin=None,
                                         endpoint=None, code=None)
        except KeyboardInterrupt:
            self.daemon.stop()
            return
        except KktBridgeError as exc:
            click.echo(_("Ошибка: ") + exc.for_people(), err=True)
            connected = None
        finally:
            signal.signal(signal.SIGINT, previous)
        if connected is None:
            click.echo(_("Подключить ККТ можно позже: на странице {page} или командой "
                         "kkt-bridge connect --device {url}").format(page=self.page,
                                                                     url=prompt.url))


@click.command(name="run", help=_(
    "Работать постоянно: следить за ККТ, обмениваться с бэк-офисом по расписанию и "
    "показывать страницу kkt-bridge на http://127.0.0.1:ПОРТ/."))
@click.option("--device", "urls", multiple=True, metavar="URL",
              help=_("Порт ККТ (можно несколько раз); кроме того — подключённые и найденные "
                     "ККТ."))
@click.option("--log-format", type=click.Choice(FORMATS), default="text",
              show_default=True, help=_("Формат журнала."))
@click.option("--log-level", default="INFO", show_default=True, help=_("Уровень журнала."),
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
@click.option("--poll-interval", type=click.FloatRange(0.1, 3600), default=DEFAULT_POLL_INTERVAL,
              metavar=_("СЕКУНДЫ"),
              show_default=True, help=_("Как часто опрашивать ККТ, секунд."))
@click.option("--plugin", default=None, metavar="NAME",
              help=_("Бэк-офис для «Подключить ККТ»: тогда кассиру остаётся ввести только код."))
@click.option("--backoffice", "endpoint", default=None, metavar="URL",
              help=_("Адрес этого бэк-офиса, если у модуля нет адреса по умолчанию."))
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              metavar="PORT",
              help=_("Порт страницы и API на 127.0.0.1 (0: любой свободный)."))
@click.option("--discover/--no-discover", default=True, show_default=True,
              help=_("Искать ККТ по USB-идентификаторам и следить за ними."))
@click.option("--metrics-port", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help=_("Отдавать метрики Prometheus ещё и на http://127.0.0.1:PORT/metrics "
                     "(они всегда есть на странице: /metrics)."))
@click.option("--metrics-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="PATH", help=_("Записывать метрики в файл для node_exporter (textfile)."))
@click.option("--hotplug", type=click.Choice(HOTPLUG_BACKENDS), default="auto",
              show_default=True,
              help=_("Как замечать подключение ККТ: udev, опрос портов или никак."))
@click.option("--hand-over", is_flag=True,
              help=_("Не запускаться второй раз: передать --device работающему kkt-bridge run "
                     "(дождавшись его) и выйти."))
@click.option("--driver", default=None, metavar="NAME",
              help=_("Протокол ККТ: shtrih или atol (по умолчанию определяется опросом)."))
@click.option("--share/--no-share", default=True, show_default=True,
              help=_("Общий порт для кассовой программы: она работает с ККТ через kkt-bridge."))
@click.option("--share-tcp", type=click.IntRange(0, 65535), default=None, metavar="PORT",
              help=_("Общий порт ещё и по TCP на 127.0.0.1:PORT (0: любой свободный; для "
                     "нескольких ККТ — PORT, PORT+1...)."))
@click.option("--share-host", default=LOOPBACK, show_default=True, metavar="HOST",
              help=_("Адрес TCP общего порта; другой адрес, кроме 127.0.0.1, открывает ККТ "
                     "сети."))
def run_command(urls: tuple[str, ...], log_format: str, log_level: str, poll_interval: float,
                plugin: str | None, endpoint: str | None, port: int, discover: bool,
                metrics_port: int | None, metrics_file: Path | None, hotplug: str,
                hand_over: bool, driver: str | None, share: bool, share_tcp: int | None,
                share_host: str) -> None:
    """Работать постоянно: следить за ККТ, обмениваться с бэк-офисом по расписанию и
    показывать страницу kkt-bridge на http://127.0.0.1:ПОРТ/."""
    with logging_configured(log_format, log_level):
        if hand_over:
            _hand_over(urls)
            return
        _run(urls, poll_interval, BackOfficePreset(plugin, endpoint), port, discover,
             metrics_port, metrics_file, hotplug, driver,
             ShareOptions(share_tcp, share_host) if share else None)


HAND_OVER_WAIT = 60.0


def _hand_over(urls: tuple[str, ...]) -> None:
    """Give ``urls`` to the store's running daemon (waiting for it to come up)."""
    import time

    from kkt_bridge.store.paths import data_dir
    from kkt_bridge.web.client import DaemonClient
    from kkt_bridge.web.instance import running_daemon

    deadline = time.monotonic() + HAND_OVER_WAIT
    while (running := running_daemon(data_dir())) is None:
        if time.monotonic() >= deadline:
            raise ConfigError(_("kkt-bridge run не запущен с этим хранилищем ({path})").format(
                path=data_dir()), _("запустите его: systemctl start kkt-bridge"))
        time.sleep(0.5)
    with DaemonClient(running) as client:
        for url in urls:
            client.watch(url)
            log.info("register at %s handed over to the daemon at %s", url, running.url)


def serve_metrics(metrics: Metrics, port: int) -> ThreadingHTTPServer:
    try:
        return metrics.serve("127.0.0.1", port)
    except OSError as exc:
        raise ConfigError(_("порт метрик {port} не открыть: {error}").format(
            port=port, error=exc.strerror or exc),
            _("укажите другой --metrics-port или остановите программу, которая его "
              "занимает")) from None


@dataclass(frozen=True)
class ShareOptions:
    tcp: int | None = None
    host: str = LOOPBACK


def announce_shared_port(info: SharedPortInfo) -> None:
    """The line the integrator copies into the cash software's settings."""
    click.echo(_("Общий порт ККТ {url} для кассовой программы: {path}").format(
        url=info.device_url, path=info.path) + (f" ({info.tcp_url})" if info.tcp_url else ""))


def start_shared_ports(options: ShareOptions, devices: list[str], directory: Path,
                       driver_of: Callable[[str], str | None] | None = None) -> SharedPorts:
    """The shared ports of ``devices`` (more come as the daemon opens new registers), each
    spoken by its register's driver (``driver_of``; default: the default driver's); the
    caller sets ``on_document`` once the daemon exists and closes them at the end."""
    shares = SharedPorts(tcp=options.tcp, tcp_host=options.host,
                         on_added=announce_shared_port, state_file=directory / STATE_FILE)
    for url in devices:
        driver = driver_of(url) if driver_of else shares.driver
        if driver is not None:  # unknown now: tried again when the daemon first opens it
            shares.add(url, driver)
    return shares


def shared_open(shares: SharedPorts,
                driver_of: Callable[[str], str | None]) -> Callable[..., Kkt]:
    """``open_register(url, driver=None)`` through the shared ports: the given driver's
    port (replacing one that speaks another protocol), else the port of the driver
    ``driver_of`` finds."""
    probing = shares.opener(app.open_register, add=True, driver_of=driver_of)

    def open_(url: str, driver: str | None = None) -> Kkt:
        if driver is None:
            return probing(url)
        return shares.open_as(url, driver, app.open_register)

    return open_


def known_at(db: Store) -> Callable[[str], list[registers.KnownRegister]]:
    """The registers the store saw at a URL (read at each call: a pairing made while the
    daemon runs counts)."""

    def known(url: str) -> list[registers.KnownRegister]:
        return [registers.KnownRegister(r.register_key, r.serial, r.fn_number, r.model, r.driver)
                for r in db.registers() if r.device_url == url]

    return known


def announce_switch(db: Store, switch: registers.ProtocolSwitch) -> None:
    """Say on the terminal (the journal), in the log and in the registers' event log that
    the register at a URL answers through another protocol, and what that means."""
    said = switch.message()
    click.echo(str(said))
    if switch.same:
        log.warning("register at %s answers through %s now, not %s: switched",
                    switch.url, switch.new, switch.old)
    else:
        log.warning("register at %s answers through %s and is another register (%s, %s): "
                    "served as a new register, the old pairing is kept",
                    switch.url, switch.new, switch.found.model, switch.found.serial)
    kind = "protocol_changed" if switch.same else "register_replaced"
    keys: list[str | None] = [k.register_key for k in switch.known
                              if not switch.same or k.serial == switch.found.serial]
    # a store event with no register: the page's log still shows it
    keys = keys or [None]
    for key in keys:
        db.log_event(key, kind, said.message, url=switch.url, old=switch.old, new=switch.new)


def _run(urls: tuple[str, ...], poll_interval: float, preset: BackOfficePreset, port: int,
         discover: bool, metrics_port: int | None, metrics_file: Path | None,
         hotplug: str, driver: str | None = None, share: ShareOptions | None = None) -> None:
    from kkt_bridge.store.paths import data_dir
    from kkt_bridge.web.context import WebContext
    from kkt_bridge.web.instance import DaemonInstance
    from kkt_bridge.web.security import Security, load_or_create_secret
    from kkt_bridge.web.server import LocalServer

    pm = app.plugin_manager()
    if preset.plugin is not None:  # refused before anything starts: nothing to fix later
        pick_backoffice(connect_options(pm, preset), preset.plugin, preset.endpoint)
    directory = data_dir()
    instance = DaemonInstance(directory)
    db = None
    server: LocalServer | None = None
    metrics_server: ThreadingHTTPServer | None = None
    shares: SharedPorts | None = None
    try:
        db = app.store()
        devices = list(dict.fromkeys([*urls, *paired_urls(db)]))
        # --driver for every register, else the driver the store recorded (with a probe of
        # the other protocols when it gets no answer), else a probe
        drivers_at = registers.DriverMap(registers.recorded_drivers(db.registers()))
        open_fn: Callable[..., Kkt] = app.open_register
        release: Callable[[str], None] | None = None
        if share is not None:
            driver_of = registers.driver_of(driver, drivers_at)
            shares = start_shared_ports(share, devices, directory, driver_of)
            open_fn = shared_open(shares, driver_of)
            release = shares.reset  # the owner holds the port: free it for the probe
        opener: Callable[[str], Kkt]
        if driver is not None:
            opener = functools.partial(open_fn, driver=driver)
        else:
            opener = registers.fallback_opener(
                drivers_at, known_at(db), open_fn=open_fn, release=release,
                on_switch=functools.partial(announce_switch, db))
        daemon = Daemon(db, pm, devices, opener=opener, poll_interval=poll_interval,
                        hotplug=hotplug, metrics_file=metrics_file, preset=preset,
                        discover=discovered_urls if discover else None,
                        on_link_change=shared_link_change(shares))
        # from here on SIGTERM and Ctrl+C stop the daemon cleanly, the login line included
        with stop_on_signals(daemon.stop):
            if shares is not None:
                # export follows the sales: a document the cash software made goes out now
                shares.on_document = lambda url, _done: daemon.export_soon(url)
            context = WebContext(actions=daemon.actions,
                                 security=Security(load_or_create_secret(directory)),
                                 bus=daemon.bus, urls=lambda: daemon.urls,
                                 registry=daemon.metrics.registry, watch=daemon.add_link)
            server = LocalServer(context, port=port)
            base = server.start()
            instance.publish(base)
            if metrics_port is not None:
                metrics_server = serve_metrics(daemon.metrics, metrics_port)
                log.info("metrics at http://127.0.0.1:%d/metrics",
                         metrics_server.server_address[1])
            daemon.write_metrics()
            log.info("page at %s/", base)  # the address only: the login token is never logged
            if os.environ.get("JOURNAL_STREAM"):
                # stdout is systemd's journal: a login token there would be a secret in a log
                click.echo(_("Страница kkt-bridge: {page}/ (ссылка для входа: sudo "
                             "KKT_BRIDGE_HOME={home} kkt-bridge ui)").format(page=base,
                                                                             home=directory))
            else:
                click.echo(_("Страница kkt-bridge (ссылка для входа действует один раз; новая: "
                             "kkt-bridge ui):"))
                click.echo(context.login_url())
            prompts = TerminalPrompts(daemon, interactive=sys.stdin.isatty(), page=f"{base}/")
            daemon.run(between=prompts.show)
    finally:
        if shares is not None:
            shares.close()
        if server is not None:
            server.stop()
        if metrics_server is not None:
            metrics_server.shutdown()
            metrics_server.server_close()
        if db is not None:
            db.close()
        instance.release()


def shared_link_change(shares: SharedPorts | None) -> Callable[[LinkChange], None] | None:
    """An unplugged register's shared port drops its dead descriptor at once."""
    if shares is None:
        return None

    def changed(change: LinkChange) -> None:
        if not change.present:
            shares.reset(change.url)

    return changed


def register(group: click.Group) -> None:
    group.add_command(run_command)

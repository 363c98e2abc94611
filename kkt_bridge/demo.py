"""``kkt-bridge demo``: the whole seed flow with no hardware and no configuration.

An emulated register (registered, speaking the real wire protocol over TCP loopback) and the
reference back office (a real HTTP server on loopback, seeded with demo goods and cashiers)
are started; the bridge pairs them with a freshly issued sync code, imports, sells a few
receipts on the register, exports them, and shows the result. Everything lives in a
temporary directory unless ``--home`` keeps it.

The register speaks the protocol of the driver the demo is given (``--driver shtrih|atol``,
Shtrih-M by default); the demo finds its emulator through
:func:`kkt_bridge.driverapi.get_emulator`, never by importing a driver, and sells through the
emulator's protocol-neutral API, so a third driver with an emulator gets a demo too.

The demo uses the same code paths as production: the daemon owns the register (its driver
over a socket), its local server shows the page (the address, with a one-time login
token, is printed), and every step is one of the page's actions: «Подключить ККТ» with a
code, the settings with their «Подтверждение», «Обновить сейчас».
"""

from __future__ import annotations

import random
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from kkt_bridge.bridge.actions import (
    BackOfficePreset,
    ExchangeResult,
    RegisterFacts,
    SettingsChange,
    SyncProgress,
)
from kkt_bridge.bridge.daemon import Daemon
from kkt_bridge.bridge.pairing import CONNECTED
from kkt_bridge.bridge.periods import period_label
from kkt_bridge.cli.lines import result_lines
from kkt_bridge.driverapi import DEFAULT_DRIVER, get_emulator
from kkt_bridge.errors import ConfigError, KktBridgeError, os_error_text
from kkt_bridge.i18n import _
from kkt_bridge.money import format_rubles
from kkt_bridge.pluginmanager import get_plugin_manager
from kkt_bridge.store import Store
from kkt_bridge.store.paths import DB_NAME

DEMO_SHOP = "Магазин на Ленина"
DEMO_PLUGIN = "reference"
#: goods sync every 15 minutes and employees every hour: two entries of the seed's list
DEMO_GOODS_PERIOD = 15 * 60
DEMO_EMPLOYEES_PERIOD = 3600
DEMO_SALES = 3
#: the demo's daemon looks at its register this often (seconds)
DEMO_POLL = 1.0


@dataclass(frozen=True)
class DemoSummary:
    device_url: str
    #: the driver's name ("atol") and its title in the UI language («АТОЛ», "ATOL")
    driver: str
    protocol: str
    model: str
    serial: str
    fn_number: str
    backoffice_url: str
    account: str
    shop: str
    groups: int
    goods: int
    employees: int
    receipts_sold: int
    exported: int
    backoffice_documents: int
    goods_period: int
    employees_period: int
    #: the page, with a one-time login token
    page_url: str = ""


class Demo:
    """The demo's moving parts; :meth:`run_once` plays the scenario step by step."""

    def __init__(self, home: Path, console: Console, *, seed: int = 2026,
                 port: int = 0, driver: str = DEFAULT_DRIVER) -> None:
        self.home = home
        # an unknown name or a driver without an emulator fails here, before anything starts
        self.front_end = get_emulator(driver)
        self.driver = driver
        self.port = port
        self.console = console
        self.rng = random.Random(seed)
        self.seed = seed
        self._stack = ExitStack()
        self.receipts_sold = 0

    # --- life -------------------------------------------------------------------------

    def start(self) -> None:
        # imported here: the emulator and the reference server are the demo's, not the core's
        from kkt_bridge import registers
        from kkt_bridge.emulation import Emulator
        from kkt_bridge.plugins.reference.server import ReferenceBackOffice

        try:
            self.home.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(_("не удалось создать каталог {path}: {reason}").format(
                path=self.home, reason=os_error_text(exc)),
                _("укажите другой --home или не указывайте его: данные демонстрации будут "
                  "во временном каталоге")) from None
        self.backoffice = self._stack.enter_context(
            ReferenceBackOffice(self.home / "backoffice.sqlite3", open_ui=True))
        self.backoffice.seed_demo()
        self.backoffice_url = self.backoffice.serve_in_thread()
        self.emulator = Emulator(self.front_end, pty=False, tcp=0,
                                 state_path=self.home / "kkt-state.json", seed=self.seed).start()
        self._stack.callback(self.emulator.stop)
        # its keyboard: the page «Эмулятор ККТ» and `kkt-bridge emulator sell --at URL`
        from kkt_bridge.emulation.control import ControlServer

        self.control = ControlServer(self.emulator).start()
        self._stack.callback(self.control.stop)
        assert self.emulator.tcp_url is not None
        self.device_url: str = self.emulator.tcp_url
        self.store = self._stack.enter_context(Store(self.home / DB_NAME))
        self.pm = get_plugin_manager()
        # the demo knows what it started: its driver, as `run --driver` would be given
        self.daemon = Daemon(self.store, self.pm, [self.device_url], hotplug="off",
                             opener=registers.opener(self.driver),
                             poll_interval=DEMO_POLL, rng=self.rng,
                             preset=BackOfficePreset(DEMO_PLUGIN, self.backoffice_url))
        self.actions = self.daemon.actions
        worker = threading.Thread(target=self.daemon.run, daemon=True, name="demo daemon")
        worker.start()
        self._stack.callback(worker.join, 30)
        self._stack.callback(self.daemon.stop)
        self.page_url = self._serve_page()
        # the control URL, opened in a browser, points to the page that does the same
        self.control.page_url = self.web.base_url + "/emulator"
        self.say(_("ККТ {protocol} (эмулятор, {model}) слушает {url}").format(
            protocol=self.protocol, model=self.emulator.device.model.name,
            url=self.device_url))
        self.say(_("Бэк-офис: {url}").format(url=self.backoffice_url))
        self.say(_("Клавиатура эмулятора: страница «Эмулятор ККТ» или kkt-bridge emulator "
                   "sell --at {url} --item Хлеб:49.90").format(url=self.control.url))
        self.say(_("Страница kkt-bridge (ссылка для входа действует один раз):"))
        self.console.print(self.page_url, soft_wrap=True, highlight=False)

    @property
    def protocol(self) -> str:
        """The emulated register's protocol in the UI language («Штрих-М», "ATOL")."""
        return _(self.front_end.title)

    def _serve_page(self) -> str:
        from kkt_bridge.web.context import WebContext
        from kkt_bridge.web.security import Security, load_or_create_secret
        from kkt_bridge.web.server import LocalServer

        self.web = WebContext(actions=self.actions,
                              security=Security(load_or_create_secret(self.home)),
                              bus=self.daemon.bus, urls=lambda: self.daemon.urls,
                              registry=self.daemon.metrics.registry,
                              emulator_control=self.control.url)
        server = LocalServer(self.web, port=self.port)
        server.start()
        self._stack.callback(server.stop)
        return self.web.login_url()

    def stop(self) -> None:
        self._stack.close()

    def say(self, text: str) -> None:
        # one message, one line: a narrow terminal wraps it, never the demo mid-phrase
        self.console.print(text, soft_wrap=True)

    # --- the seed flow ----------------------------------------------------------------

    def connect(self) -> str:
        """«Подключить ККТ»: a code from «Мои Кассы» -> «Добавить ККТ», entered at the register."""
        code = self.backoffice.issue_sync_code(DEMO_SHOP)
        self.say(_("Подключить ККТ") + ": " + _("код синхронизации с бэк-офисом") + f" {code}")
        connected = self.actions.connect(self.device_url, code)
        self.say(f"[bold green]{connected.message}[/]")
        self.register_key = connected.register_key
        return connected.register_key

    def configure(self) -> None:
        """Exchange settings, «Сохранить»: turning goods sync on asks for confirmation, which
        the demo gives after looking at the (empty) list of register-added goods."""
        change = SettingsChange(goods_period=DEMO_GOODS_PERIOD,
                                employees_period=DEMO_EMPLOYEES_PERIOD)
        plan = self.actions.preview_settings(self.register_key, change)
        token = plan.confirmation.token if plan.confirmation is not None else None
        saved = self.actions.apply_settings(self.register_key, change, token)
        self.say(_("экспорт товаров: {goods}; экспорт сотрудников: {employees}").format(
            goods=saved.settings.goods_label, employees=saved.settings.employees_label))
        self.say(saved.settings.receipts_text)

    def update_now(self) -> list[ExchangeResult]:
        """«Обновить сейчас»: every exchange at once, its progress in words."""
        self.say(_("Обновить сейчас") + "...")

        def progress(step: SyncProgress) -> None:
            if step.result is None:
                return
            for line in result_lines(step.result):
                self.console.print(line if step.result.ok else f"[red]{line}[/]",
                                   highlight=False)

        results = self.actions.sync_now(self.register_key, on_progress=progress).results
        failed = [r for r in results if not r.ok]
        if failed:
            raise KktBridgeError(_("обмен с бэк-офисом не удался: {jobs}").format(
                jobs=", ".join(r.title for r in failed)), _("см. сообщения выше"))
        return list(results)

    def _facts(self) -> RegisterFacts:
        facts = self.actions.status(self.device_url, fresh=True).facts
        if facts is None:
            raise KktBridgeError(_("ККТ (эмулятор) не отвечает"), _("см. сообщения выше"))
        return facts

    def sell(self, count: int) -> None:
        """Sell ``count`` receipts of imported goods at the register, through the emulator's
        neutral API (a front end that has its protocol do it, as Shtrih-M's does, still does)."""
        from kkt_bridge.emulation import Item

        goods = [stored.good for stored in self.store.goods(self.register_key)]
        if not goods:
            raise KktBridgeError(_("в кассе нет товаров"), _("проверьте экспорт товаров"))
        if self._facts().shift_state == "closed":
            self.emulator.open_shift()
        for _number in range(count):
            picked = self.rng.sample(goods, k=min(len(goods), self.rng.randint(1, 3)))
            items = [Item(good.name, good.price,
                          "0.750" if good.weighed else self.rng.randint(1, 3), vat=good.vat)
                     for good in picked]
            total = sum(item.amount for item in items)
            cash = self.rng.random() < 0.5
            payments = {"cash": total} if cash else {"electronic": total}
            result = self.emulator.sell(items, payments)
            self.receipts_sold += 1
            self.say(_("чек ФД {fd}: {total} ({how})").format(
                fd=result.fd_number, total=format_rubles(result.total),
                how=_("наличными") if cash else _("безналичными")))

    def summary(self) -> DemoSummary:
        facts = self._facts()
        status = self.actions.status(self.device_url)
        pairing, backlog = status.pairing, status.backlog
        assert pairing is not None and backlog is not None
        settings = self.store.get_settings(self.register_key)
        return DemoSummary(
            device_url=self.device_url, driver=self.driver, protocol=self.protocol,
            model=facts.model, serial=facts.serial,
            fn_number=facts.fn_number or "", backoffice_url=self.backoffice_url,
            account=pairing.account, shop=pairing.shop,
            groups=len(self.store.groups(self.register_key)),
            goods=len(self.store.goods(self.register_key)),
            employees=len(self.store.employees(self.register_key)),
            # the daemon's own rounds export too: the acknowledged ФД are the count
            receipts_sold=self.receipts_sold, exported=backlog.cursor,
            backoffice_documents=self.backoffice.count_documents(facts.fn_number),
            goods_period=settings.goods_period, employees_period=settings.employees_period,
            page_url=self.page_url)

    def run_once(self) -> DemoSummary:
        self.connect()
        self.configure()
        self.update_now()
        self.sell(DEMO_SALES)
        self.update_now()
        return self.summary()


def summary_table(summary: DemoSummary) -> Table:
    table = Table(title=_("kkt-bridge: демонстрация"), show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    rows = (
        (_("ККТ"), f"{summary.model}, {_('зав. №')} {summary.serial}"),
        (_("Протокол"), f"{summary.protocol} (--driver {summary.driver})"),
        (_("ФН"), summary.fn_number),
        (_("Подключение ККТ"), summary.device_url),
        (_("Бэк-офис"), f"{DEMO_PLUGIN}: {summary.account} / {summary.shop}"),
        (_("Синхронизация"), _(CONNECTED)),
        (_("экспорт товаров"), period_label(summary.goods_period)),
        (_("экспорт сотрудников"), period_label(summary.employees_period)),
        (_("Группы товаров / товары"), f"{summary.groups} / {summary.goods}"),
        (_("Сотрудники"), str(summary.employees)),
        (_("Чеков продано"), str(summary.receipts_sold)),
        (_("Документов выгружено"), str(summary.exported)),
        (_("Документов в бэк-офисе"), str(summary.backoffice_documents)),
        (_("Посмотреть в бэк-офисе"), f"{summary.backoffice_url}/"),
        (_("Страница kkt-bridge"), summary.page_url.split("/login")[0] + "/"),
    )
    for name, value in rows:
        # labels are the seed's words, some lower-case in running text («экспорт товаров»,
        # "register"); at the head of a table row they start with a capital
        table.add_row(name[:1].upper() + name[1:], value)
    return table


@contextmanager
def demo_home(home: Path | None) -> Iterator[Path]:
    if home is not None:
        yield home
        return
    with tempfile.TemporaryDirectory(prefix="kkt-bridge-demo-") as tmp:
        yield Path(tmp)


def run_demo(console: Console, *, once: bool, home: Path | None = None,
             interval: float = 10.0, stop: threading.Event | None = None,
             on_ready: Callable[[DemoSummary], None] | None = None,
             port: int = 0, on_page: Callable[[str], None] | None = None,
             driver: str = DEFAULT_DRIVER) -> DemoSummary:
    """Play the scenario on an emulated register of ``driver``'s protocol; unless ``once``,
    keep selling and exporting every ``interval`` seconds until ``stop`` is set (Ctrl-C)."""
    stop = stop or threading.Event()
    with demo_home(home) as directory:
        demo = Demo(directory, console, port=port, driver=driver)
        try:
            demo.start()
            if on_page is not None:
                on_page(demo.page_url)
            summary = demo.run_once()
            console.print(summary_table(summary))
            if on_ready is not None:
                on_ready(summary)
            if not once:
                console.print(_("Демонстрация продолжается: продажа и выгрузка каждые "
                                "{seconds} с. Ctrl-C — выход.").format(seconds=int(interval)))
                while not stop.wait(interval):
                    demo.sell(1)
                    demo.update_now()
                summary = demo.summary()
                console.print(summary_table(summary))
            return summary
        finally:
            demo.stop()

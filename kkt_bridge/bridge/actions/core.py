"""The :class:`Actions`: every dialogue once, over a store and a way to reach registers."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

from kkt_bridge.bridge import figures
from kkt_bridge.bridge.access import RegisterAccess
from kkt_bridge.bridge.actions.models import (
    BacklogView,
    BackOfficeChoice,
    BackOfficePreset,
    CatalogView,
    Confirmation,
    ConfirmationKind,
    Connected,
    ConnectOptions,
    ExchangeResult,
    ExchangeView,
    FailedExport,
    GoodInput,
    GoodView,
    GroupInput,
    GroupView,
    LinkHealth,
    PairingView,
    PeriodChoice,
    PromptView,
    RegisterFacts,
    RegisterStatus,
    ReplacedFn,
    SettingsChange,
    SettingsPlan,
    SettingsSaved,
    SettingsView,
    SyncProgress,
    SyncResult,
)
from kkt_bridge.bridge.actions.shared import SharedPortLookup, SharedSource
from kkt_bridge.bridge.actions.views import (
    FactsSource,
    exchange_result,
    good_view,
    group_view,
    in_language,
    link_health,
    prompt_view,
    read_facts,
    when,
)
from kkt_bridge.bridge.catalog import Catalog
from kkt_bridge.bridge.events import SYNC_PROGRESS, EventBus
from kkt_bridge.bridge.jobs import DOCUMENTS, JOB_TITLES, JOBS
from kkt_bridge.bridge.pairing import CONNECTED, pair
from kkt_bridge.bridge.periods import PERIODS, period_label
from kkt_bridge.bridge.prompts import PromptBoard
from kkt_bridge.bridge.scheduler import RegisterLink, Scheduler, job_period, planned_run
from kkt_bridge.bridge.settings import (
    CONFIRM_BUTTON,
    CONFIRM_TITLE,
    RECEIPTS_AUTOMATIC,
    WARNING,
    SettingsPreview,
)
from kkt_bridge.bridge.settings import apply_settings as _apply_settings
from kkt_bridge.bridge.settings import preview_settings as _preview_settings
from kkt_bridge.errors import (
    BackOfficeError,
    ConfigError,
    KktBridgeError,
    LinkError,
    NotPairedError,
    PairingError,
    PluginError,
)
from kkt_bridge.exchange import Good, GoodsGroup
from kkt_bridge.i18n import _
from kkt_bridge.logs import register_secret
from kkt_bridge.pluginmanager import BackOfficePluginManager, backoffices
from kkt_bridge.store import ExchangeSettings, RegisterRecord, Store


def choose_from(keys: Sequence[str], device: str | None) -> str:
    """The one register of ``keys`` (paired, at ``device`` when given) a command means."""
    if len(keys) == 1:
        return keys[0]
    if not keys:
        raise NotPairedError(
            _("нет ККТ, подключённой к бэк-офису") if device is None else
            _("ККТ на {device} не подключена к бэк-офису").format(device=device),
            _("сначала подключите ККТ: «Подключить ККТ» на странице kkt-bridge или "
              "«kkt-bridge connect»"))
    raise ConfigError(_("к бэк-офису подключено несколько ККТ: {keys}").format(
        keys=", ".join(keys)), _("укажите нужную: --device URL"))


def connect_options(pm: BackOfficePluginManager, preset: BackOfficePreset) -> ConnectOptions:
    """The installed back offices, and the one preset (``run --plugin --backoffice``)."""
    choices = tuple(
        BackOfficeChoice(name=info.name, title=info.title, description=info.description,
                         default_endpoint=info.default_endpoint,
                         needs_address=info.default_endpoint is None)
        for info in sorted(backoffices(pm).values(), key=lambda i: i.name))
    chosen = next((c for c in choices if c.name == preset.plugin), None)
    code_only = chosen is not None and (not chosen.needs_address or bool(preset.endpoint))
    return ConnectOptions(backoffices=choices, preset_plugin=preset.plugin,
                          preset_endpoint=preset.endpoint, code_only=code_only)


def pick_backoffice(options: ConnectOptions, plugin: str | None,
                    endpoint: str | None) -> tuple[str, str | None]:
    """The plugin and address to pair with: the ones given, else the preset ones."""
    plugin = plugin or options.preset_plugin
    if not plugin:
        raise ConfigError(_("не выбран бэк-офис"),
                          _("выберите бэк-офис из установленных: {names}").format(
                              names=", ".join(c.name for c in options.backoffices) or "—"))
    chosen = next((c for c in options.backoffices if c.name == plugin), None)
    if chosen is None:
        raise PluginError(
            _("модуль бэк-офиса «{name}» не установлен или не загрузился").format(name=plugin),
            _("установленные: {names}; список: kkt-bridge plugins").format(
                names=", ".join(c.name for c in options.backoffices) or "—"))
    if endpoint is None and plugin == options.preset_plugin:
        endpoint = options.preset_endpoint
    if not endpoint and chosen.needs_address:
        raise ConfigError(
            _("для бэк-офиса «{name}» нужен адрес").format(name=chosen.title or plugin),
            _("укажите адрес бэк-офиса (https://…)"))
    return plugin, endpoint


# --- the actions -----------------------------------------------------------------------------


@dataclass
class Actions:
    """The dialogues over one store, one plugin manager and one way to reach registers.

    ``board``/``bus``: the daemon's prompts and events (None for a one-shot command).
    ``facts``: the daemon's latest look at a register by URL (None: read it now).
    ``on_change``: told (register key, device URL) after a pairing or a settings change,
    so the daemon takes it into account at once.
    ``shared``: a register's shared port and the other programs on its real port.
    """

    store: Store
    pm: BackOfficePluginManager
    access: RegisterAccess
    board: PromptBoard | None = None
    bus: EventBus | None = None
    preset: BackOfficePreset = field(default_factory=BackOfficePreset)
    facts: FactsSource | None = None
    on_change: Callable[[str, str | None], None] | None = None
    scheduler_factory: Callable[[], Scheduler] | None = None
    now: Callable[[], float] = time.time
    shared: SharedSource = field(default_factory=SharedPortLookup)

    # --- which register -----------------------------------------------------------------

    def paired_registers(self, device: str | None = None) -> list[str]:
        return figures.paired_registers(self.store, device)

    def choose_register(self, device: str | None = None) -> str:
        """The one paired register meant: the only one, or the one at ``device``."""
        return choose_from(self.paired_registers(device), device)

    def choose_device(self, device: str | None = None) -> str:
        """The URL meant: ``device``, or the only paired register's."""
        if device:
            return device
        key = self.choose_register(None)
        record = self.store.get_register(key)
        if record is None or not record.device_url:
            raise ConfigError(_("адрес ККТ {key} неизвестен").format(key=key),
                              _("укажите его: --device URL"))
        return record.device_url

    def _paired(self, register_key: str) -> None:
        if self.store.get_pairing(register_key) is None:
            raise NotPairedError(
                _("ККТ {key} не подключена к бэк-офису").format(key=register_key),
                _("сначала подключите ККТ: «Подключить ККТ»"))

    # --- «Подключить ККТ» --------------------------------------------------------------

    def connect_options(self) -> ConnectOptions:
        return connect_options(self.pm, self.preset)

    def check_backoffice(self, plugin: str | None, endpoint: str | None) -> tuple[str, str | None]:
        """The back office to pair with (preset when not given), checked before the
        register is touched: an unknown plugin or a missing address changes nothing."""
        return pick_backoffice(self.connect_options(), plugin, endpoint)

    def connect(self, device_url: str, code: str, *, plugin: str | None = None,
                endpoint: str | None = None) -> Connected:
        """Pair the register at ``device_url`` by a sync code: «Соединение установлено».

        A wrong, expired or used code raises PairingError and stores nothing; a working
        pairing is replaced only when the new code is accepted."""
        plugin, endpoint = self.check_backoffice(plugin, endpoint)
        if not code or not code.strip():
            raise PairingError(_("код синхронизации не введён"),
                               _("получите код синхронизации для кассы в бэк-офисе и введите "
                                 "его"))

        def work(link: RegisterLink) -> tuple[str, bool]:
            identity = link.kkt().identity()
            replaced = self.store.get_pairing(identity.key) is not None
            pairing = pair(self.store, self.pm, link.kkt(), plugin=plugin, code=code,
                           endpoint=endpoint, device_url=device_url)
            return pairing.register_key, replaced

        try:
            key, replaced = self.access.call(device_url, work)
        except BackOfficeError as exc:
            if not exc.retryable:
                raise
            # the plugin's hint promises a retry; a pairing is never retried by itself
            raise type(exc)(exc.message, _("проверьте сеть и адрес бэк-офиса и повторите "
                                           "подключение: само оно не повторится"),
                            retry_after=exc.retry_after) from None
        pairing = self.store.get_pairing(key)
        assert pairing is not None
        register_secret(pairing.credentials.token)
        if self.board is not None:
            self.board.resolve(key)
        if self.on_change is not None:
            self.on_change(key, device_url)
        info = backoffices(self.pm).get(plugin)
        creds = pairing.credentials
        return Connected(register_key=key, device_url=device_url, backoffice=plugin,
                         backoffice_title=info.title if info else plugin,
                         account=creds.account, shop=creds.shop, message=_(CONNECTED),
                         replaced=replaced)

    # --- prompts -------------------------------------------------------------------------

    def prompts(self) -> list[PromptView]:
        if self.board is None:
            return []
        return [prompt_view(p) for p in self.board.current()]

    # --- «Изменить настройки обновления» ----------------------------------------------

    def _first_setup(self, register_key: str) -> bool:
        pairing = self.store.get_pairing(register_key)
        saved = self.store.last_event(register_key, "settings")
        if pairing is None:
            return saved is None
        return saved is None or saved.at < pairing.paired_at

    def settings(self, register_key: str) -> SettingsView:
        self._paired(register_key)
        return self._settings_view(register_key, self.store.get_settings(register_key))

    def _settings_view(self, register_key: str, s: ExchangeSettings) -> SettingsView:
        return SettingsView(
            register_key=register_key, goods_period=s.goods_period,
            goods_label=period_label(s.goods_period), employees_period=s.employees_period,
            employees_label=period_label(s.employees_period),
            receipts_interval=s.receipts_interval, receipts_text=_(RECEIPTS_AUTOMATIC),
            periods=tuple(PeriodChoice(seconds, _(label)) for seconds, label in PERIODS.items()),
            first_setup=self._first_setup(register_key))

    def _wanted(self, register_key: str, change: SettingsChange) -> ExchangeSettings:
        current = self.store.get_settings(register_key)
        return ExchangeSettings(
            goods_period=current.goods_period if change.goods_period is None
            else change.goods_period,
            employees_period=current.employees_period if change.employees_period is None
            else change.employees_period,
            receipts_interval=current.receipts_interval if change.receipts_interval is None
            else change.receipts_interval)

    def _plan(self, register_key: str, preview: SettingsPreview) -> SettingsPlan:
        confirmation = None
        if preview.goods_change is not None:
            assert preview.token is not None
            first = self._first_setup(register_key)
            kind: ConfirmationKind = ("first_setup" if first else
                                      "sync_on" if preview.goods_change == "on" else "sync_off")
            button = CONFIRM_TITLE if first else CONFIRM_BUTTON[preview.goods_change]
            confirmation = Confirmation(
                kind=kind, title=_(CONFIRM_TITLE), warning=_(WARNING[preview.goods_change]),
                button=_(button),
                goods=tuple(GoodView(id=g.id, name=g.name, price=g.price, group_id=g.group_id,
                                     code=g.code, barcodes=tuple(g.barcodes),
                                     measure=g.measure, vat=g.vat, weighed=g.weighed,
                                     origin="register") for g in preview.goods_to_delete),
                groups=tuple(GroupView(id=g.id, name=g.name, parent_id=g.parent_id,
                                       origin="register") for g in preview.groups_to_delete),
                token=preview.token)
        new = preview.new
        return SettingsPlan(register_key=register_key,
                            current=self._settings_view(register_key, preview.current),
                            goods_period=new.goods_period, employees_period=new.employees_period,
                            receipts_interval=new.receipts_interval, changed=preview.changed,
                            confirmation=confirmation)

    def preview_settings(self, register_key: str, change: SettingsChange) -> SettingsPlan:
        """What «Сохранить» would do; nothing is changed."""
        self._paired(register_key)
        new = self._wanted(register_key, change)
        return self._plan(register_key, _preview_settings(self.store, register_key, new))

    def apply_settings(self, register_key: str, change: SettingsChange,
                       confirmation: str | None = None) -> SettingsSaved:
        """«Сохранить»; a goods-sync change needs the token of the list the user saw.

        A token of another list raises ConfirmationStaleError, a mistyped one
        ConfirmationMismatchError; nothing changes either way (the shell shows the
        current :meth:`preview_settings` again)."""
        self._paired(register_key)
        new = self._wanted(register_key, change)
        first = self._first_setup(register_key)
        preview = _apply_settings(self.store, register_key, new,
                                  confirmation=confirmation or None, now=self.now())
        if self.on_change is not None:
            record = self.store.get_register(register_key)
            self.on_change(register_key, record.device_url if record else None)
        button = None
        if preview.goods_change is not None:
            button = _(CONFIRM_TITLE if first else CONFIRM_BUTTON[preview.goods_change])
        deleting = preview.goods_change == "on"
        return SettingsSaved(
            settings=self._settings_view(register_key, new), confirmed=button,
            deleted_goods=len(preview.goods_to_delete) if deleting else 0,
            deleted_groups=len(preview.groups_to_delete) if deleting else 0,
            goods_pending=deleting)

    # --- «Обновить сейчас» -------------------------------------------------------------

    def _scheduler(self) -> Scheduler:
        if self.scheduler_factory is not None:
            return self.scheduler_factory()
        return Scheduler(self.store, self.pm)

    def sync_now(self, register_key: str | None = None, *, device: str | None = None,
                 on_progress: Callable[[SyncProgress], None] | None = None,
                 jobs: Sequence[str] | None = None, run_id: str = "") -> SyncResult:
        """Every exchange of the register (of every paired one when none is named), now,
        with a progress event before and after each."""
        keys = [register_key] if register_key else self.paired_registers(device)
        if not keys:
            raise NotPairedError(_("нет ККТ, подключённой к бэк-офису"),
                                 _("сначала подключите ККТ: «Подключить ККТ»"))
        results: list[ExchangeResult] = []
        for key in keys:
            results += self._sync_register(key, on_progress, jobs, run_id)
        return SyncResult(results=tuple(results))

    def _progress(self, event: SyncProgress,
                  on_progress: Callable[[SyncProgress], None] | None) -> None:
        if on_progress is not None:
            on_progress(event)
        if self.bus is not None:
            self.bus.publish(SYNC_PROGRESS, asdict(event))

    def _sync_register(self, key: str, on_progress: Callable[[SyncProgress], None] | None,
                       only: Sequence[str] | None, run_id: str) -> list[ExchangeResult]:
        self._paired(key)
        scheduler = self._scheduler()
        wanted = [job for job in (only or scheduler.enabled_jobs(key))
                  if job in scheduler.enabled_jobs(key)]
        record = self.store.get_register(key)
        pairing = self.store.get_pairing(key)
        if pairing is not None:
            register_secret(pairing.credentials.token)
        if record is None or not record.device_url:
            return [ExchangeResult(
                register_key=key, job=DOCUMENTS, title=_(JOB_TITLES[DOCUMENTS]), ok=False,
                summary={}, text="", next_run=None,
                error=_("адрес ККТ неизвестен: подключите её заново («Подключить ККТ»)"))]
        results: list[ExchangeResult] = []

        def work(link: RegisterLink) -> None:
            for index, job in enumerate(wanted, 1):
                title = _(JOB_TITLES[job])
                self._progress(SyncProgress(key, job, title, index, len(wanted), "started",
                                            run_id=run_id), on_progress)
                result = exchange_result(scheduler.run_job(link, key, job))
                results.append(result)
                self._progress(SyncProgress(key, job, title, index, len(wanted), "finished",
                                            result, run_id), on_progress)

        try:
            self.access.call(record.device_url, work)
        except KktBridgeError as exc:  # the link could not be had at all
            done = {r.job for r in results}
            for index, job in enumerate(wanted, 1):
                if job in done:
                    continue
                failed = ExchangeResult(register_key=key, job=job, title=_(JOB_TITLES[job]),
                                        ok=False, summary={}, text=str(exc), error=str(exc),
                                        next_run=None)
                results.append(failed)
                self._progress(SyncProgress(key, job, failed.title, index, len(wanted),
                                            "finished", failed, run_id), on_progress)
        return results

    def retry_export(self, register_key: str) -> ExchangeResult:
        """«Повторить» for a failed export: the receipts exchange, now."""
        results = self.sync_now(register_key, jobs=[DOCUMENTS]).results
        return results[0]

    # --- the register's state ----------------------------------------------------------

    def _facts(self, url: str, fresh: bool) -> tuple[RegisterFacts | None, LinkHealth]:
        if not fresh and self.facts is not None:
            known = self.facts(url)
            if known is not None:
                return known
        try:
            facts = self.access.call(url, lambda link: read_facts(link.kkt()))
        except LinkError as exc:
            return None, link_health("unreachable", str(exc), datetime.now(UTC))
        return facts, link_health("ok", None, facts.read_at)

    def status(self, device_url: str | None = None, *, register_key: str | None = None,
               fresh: bool = False) -> RegisterStatus:
        """The register at ``device_url`` (or the paired ``register_key``): what it says
        and what the bridge knows of it. A register out of reach still gets what the
        bridge knows; other errors of the register are raised."""
        if device_url is None:
            if register_key is None:
                register_key = self.choose_register(None)
            record = self.store.get_register(register_key)
            device_url = record.device_url if record else None
        facts, health = (self._facts(device_url, fresh) if device_url
                         else (None, link_health("unknown")))
        key = facts.key if facts is not None and facts.fn_number else register_key
        if key is None and device_url is not None:
            known = [r for r in self.store.registers() if r.device_url == device_url
                     and self.store.get_pairing(r.register_key) is not None]
            key = known[0].register_key if known else None
        return self._status(device_url, key, facts, health)

    def _status(self, url: str | None, key: str | None, facts: RegisterFacts | None,
                health: LinkHealth) -> RegisterStatus:
        facts, health = in_language(facts, health)
        shared_port, holders = self.shared(url) if url else (None, ())
        prompt = None
        if key is not None and self.board is not None:
            board_prompt = self.board.get(key)
            prompt = prompt_view(board_prompt) if board_prompt else None
        record = self.store.get_register(key) if key else None
        if key is None or record is None:
            return RegisterStatus(device_url=url, register_key=key, link=health, facts=facts,
                                  pairing=None, settings=None, exchanges=(), backlog=None,
                                  failed_export=None, prompt=prompt,
                                  shared_port=shared_port, port_holders=holders)
        pairing = self.store.get_pairing(key)
        settings = self.store.get_settings(key)
        exchanges = []
        now = self.now()
        for job in JOBS:
            run = self.store.get_job_run(key, job)
            period = job_period(settings, job)
            next_at = planned_run(self.store, key, job, now, settings) if pairing else None
            exchanges.append(ExchangeView(
                job=job, title=_(JOB_TITLES[job]), enabled=period > 0,
                period_label=_(RECEIPTS_AUTOMATIC) if job == DOCUMENTS else period_label(period),
                last_run=when(run.last_run_at), last_success=when(run.last_success_at),
                next_run=when(next_at), failures=run.failures, last_error=run.last_error))
        last_fd = facts.last_fd_number if facts is not None and facts.key == key else None
        log = figures.register_backlog(self.store, record, last_fd)
        return RegisterStatus(
            device_url=url or record.device_url, register_key=key, link=health, facts=facts,
            pairing=None if pairing is None else PairingView(
                backoffice=pairing.credentials.backoffice,
                endpoint=pairing.credentials.endpoint, account=pairing.credentials.account,
                shop=pairing.credentials.shop, paired_at=when(pairing.paired_at)),
            settings=self._settings_view(key, settings) if pairing else None,
            exchanges=tuple(exchanges),
            backlog=BacklogView(fn_number=log.fn_number, cursor=log.cursor,
                                last_fd=log.last_fd, outbox=log.outbox, unsent=log.unsent,
                                replaced_fns=tuple(self._replaced_fns(record))),
            failed_export=self._failed_export(key, record.fn_number, log.cursor),
            prompt=prompt, shared_port=shared_port, port_holders=holders)

    def _failed_export(self, key: str, fn_number: str, cursor: int) -> FailedExport | None:
        found = figures.rejection(self.store, key, fn_number, cursor)
        if found is None:
            return None
        return FailedExport(fd_number=found.fd_number, attempts=found.attempts,
                            error=found.error, at=when(found.at))

    def _replaced_fns(self, record: RegisterRecord) -> list[ReplacedFn]:
        return [ReplacedFn(fn_number=r.fn_number, cursor=r.cursor, last_fd=r.last_fd,
                           outbox=r.outbox, unsent=r.unsent, unread=r.unread)
                for r in figures.replaced_backlogs(self.store, record)]

    def statuses(self, urls: Sequence[str] = ()) -> list[RegisterStatus]:
        """Every register the bridge serves: ``urls`` (the daemon's) and the paired ones."""
        seen: list[str] = list(urls)
        for url in figures.paired_urls(self.store):
            if url not in seen:
                seen.append(url)
        return [self.status(url) for url in seen]

    # --- the catalog -----------------------------------------------------------------

    def catalog(self, register_key: str) -> CatalogView:
        catalog = Catalog(self.store, register_key)
        locked = self.store.get_settings(register_key).goods_sync
        return CatalogView(
            register_key=register_key, editable=not locked,
            locked_reason=_("товары нельзя изменять на кассе, пока включена синхронизация "
                            "товаров с бэк-офисом") if locked else None,
            groups=tuple(group_view(g) for g in catalog.groups()),
            goods=tuple(good_view(g) for g in catalog.goods()))

    def add_good(self, register_key: str, good: GoodInput) -> GoodView:
        self._paired(register_key)
        added = Catalog(self.store, register_key).add_good(_good(good))
        return self._good(register_key, added.id)

    def edit_good(self, register_key: str, good_id: str, good: GoodInput) -> GoodView:
        self._paired(register_key)
        Catalog(self.store, register_key).edit_good(_good(replace(good, id=good_id)))
        return self._good(register_key, good_id)

    def delete_good(self, register_key: str, good_id: str) -> None:
        self._paired(register_key)
        Catalog(self.store, register_key).delete_good(good_id)

    def add_group(self, register_key: str, group: GroupInput) -> GroupView:
        self._paired(register_key)
        added = Catalog(self.store, register_key).add_group(_group(group))
        return self._group(register_key, added.id)

    def edit_group(self, register_key: str, group_id: str, group: GroupInput) -> GroupView:
        self._paired(register_key)
        Catalog(self.store, register_key).edit_group(_group(replace(group, id=group_id)))
        return self._group(register_key, group_id)

    def delete_group(self, register_key: str, group_id: str) -> None:
        self._paired(register_key)
        Catalog(self.store, register_key).delete_group(group_id)

    def _good(self, register_key: str, good_id: str) -> GoodView:
        stored = self.store.get_good(register_key, good_id)
        assert stored is not None
        return good_view(stored)

    def _group(self, register_key: str, group_id: str) -> GroupView:
        stored = self.store.get_group(register_key, group_id)
        assert stored is not None
        return group_view(stored)


def _good(good: GoodInput) -> Good:
    return Good(id=good.id, name=good.name, price=good.price, group_id=good.group_id or None,
                code=good.code, barcodes=tuple(good.barcodes), measure=good.measure,
                vat=good.vat, weighed=good.weighed)


def _group(group: GroupInput) -> GoodsGroup:
    return GoodsGroup(id=group.id, name=group.name, parent_id=group.parent_id or None)


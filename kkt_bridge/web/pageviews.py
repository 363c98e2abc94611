"""What the page's templates show: registers, their catalog, and the window's steps, built
from the actions' typed results (no HTTP here; :mod:`kkt_bridge.web.pages` serves them)."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import asdict, dataclass, field, replace
from datetime import date, datetime
from typing import Any

from kkt_bridge.bridge.actions import (
    Actions,
    BackOfficeChoice,
    CatalogView,
    Confirmation,
    ExchangeResult,
    ExchangeView,
    GoodView,
    PeriodChoice,
    RegisterStatus,
    describe_summary,
)
from kkt_bridge.i18n import _

ORIGINS = {"register": "касса", "backoffice": "бэк-офис"}



@dataclass(frozen=True)
class GoodRow:
    id: str
    name: str
    price: int
    code: str
    group_id: str | None
    group_name: str | None
    origin_label: str
    editable: bool


@dataclass(frozen=True)
class GroupRow:
    id: str
    name: str
    origin_label: str
    editable: bool


@dataclass
class RegisterView:
    """One register as its cards show it."""

    key: str
    slug: str
    url: str | None
    model: str
    serial: str
    fn_number: str | None
    fn_expires: date | None
    registered: bool
    #: False while the register was never reached: whether it is registered is unknown
    registration_known: bool
    inn: str | None
    rnm: str | None
    shift: str | None
    link_ok: bool
    link_text: str
    link_error: str | None
    seen_at: datetime | None
    ofd_queue: int | None
    ofd_oldest: datetime | None
    pairing: dict[str, str] | None
    goods_period_label: str = ""
    employees_period_label: str = ""
    jobs: tuple[ExchangeView, ...] = ()
    unsent: int | None = None
    outbox: int = 0
    #: earlier ФН of this register with documents not yet in the back office
    replaced: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    last_results: tuple[ExchangeResult, ...] = ()
    catalog_locked: str | None = None
    goods: list[GoodRow] = field(default_factory=list)
    groups: list[GroupRow] = field(default_factory=list)
    editing: GoodRow | None = None
    editing_group: GroupRow | None = None
    prompt_reason: str | None = None
    #: the port cash software opens beside the bridge, and its TCP address
    shared_path: str | None = None
    shared_tcp: str | None = None
    #: other programs on the register's real port, as "name (pid)"
    port_holders: list[str] = field(default_factory=list)


def backoffice_titles(actions: Actions) -> dict[str, str]:
    return {choice.name: choice.title or choice.name
            for choice in actions.connect_options().backoffices}


def register_view(actions: Actions, status: RegisterStatus, titles: dict[str, str],
                  results: SyncResults, edit: str | None = None,
                  edit_group: str | None = None) -> RegisterView:
    facts = status.facts
    record = (actions.store.get_register(status.register_key)
              if status.register_key else None)
    key = status.register_key or (facts.key if facts else None) or (status.device_url or "?")
    registration = facts.registration if facts else None
    view = RegisterView(
        key=key, slug=hashlib.sha1(key.encode()).hexdigest()[:8], url=status.device_url,
        model=(facts.model if facts else record.model if record else "") or "",
        serial=facts.serial if facts else record.serial if record else "—",
        fn_number=facts.fn_number if facts else record.fn_number if record else None,
        fn_expires=facts.fn_valid_until if facts else None,
        registered=registration is not None if facts else record is not None,
        registration_known=facts is not None or record is not None,
        inn=registration.inn if registration else (record.inn if record else None),
        rnm=registration.rnm if registration else (record.rnm if record else None),
        shift=facts.shift_text if facts else None,
        link_ok=status.link.state == "ok", link_text=status.link.text,
        link_error=status.link.error, seen_at=status.link.checked_at,
        ofd_queue=facts.ofd_unsent if facts else None,
        ofd_oldest=facts.ofd_first_unsent_at if facts else None,
        pairing=None, prompt_reason=status.prompt.reason_text if status.prompt else None)
    if status.pairing is not None:
        p = status.pairing
        view.pairing = {"backoffice": titles.get(p.backoffice, p.backoffice),
                        "account": p.account, "shop": p.shop}
    if status.settings is not None:
        view.goods_period_label = status.settings.goods_label
        view.employees_period_label = status.settings.employees_label
    view.jobs = status.exchanges
    if status.shared_port is not None:
        view.shared_path, view.shared_tcp = status.shared_port.path, status.shared_port.tcp
    view.port_holders = [f"{h.name} ({h.pid})" for h in status.port_holders]
    if status.backlog is not None:
        view.unsent, view.outbox = status.backlog.unsent, status.backlog.outbox
        view.replaced = [asdict(old) for old in status.backlog.replaced_fns]
    if status.failed_export is not None:
        view.failed = [asdict(status.failed_export)]
    # the words of what each exchange did are made now, in this request's language: the run
    # itself may have been another page's, in another language
    view.last_results = tuple(
        replace(r, text=describe_summary(r.job, r.summary)) if r.ok else r
        for r in results.get(key))
    if status.pairing is not None and status.register_key:
        _catalog_view(view, actions.catalog(status.register_key), edit, edit_group)
    return view


def _catalog_view(view: RegisterView, catalog: CatalogView, edit: str | None,
                  edit_group: str | None) -> None:
    names = {g.id: g.name for g in catalog.groups}
    view.catalog_locked = catalog.locked_reason
    view.groups = [GroupRow(id=g.id, name=g.name, origin_label=_(ORIGINS.get(g.origin, g.origin)),
                            editable=catalog.editable) for g in catalog.groups]
    view.goods = [_good_row(g, names, catalog.editable) for g in catalog.goods]
    view.editing = next((g for g in view.goods if g.id == edit and g.editable), None)
    view.editing_group = next((g for g in view.groups if g.id == edit_group and g.editable),
                              None)


def _good_row(good: GoodView, names: dict[str, str], editable: bool) -> GoodRow:
    return GoodRow(id=good.id, name=good.name, price=good.price, code=good.code,
                   group_id=good.group_id,
                   group_name=names.get(good.group_id or "", good.group_id),
                   origin_label=_(ORIGINS.get(good.origin, good.origin)), editable=editable)


def registers(actions: Actions, urls: list[str], results: SyncResults,
              edit: str | None = None, edit_group: str | None = None) -> list[RegisterView]:
    """Every register the daemon serves, as the page shows it."""
    titles = backoffice_titles(actions)
    return [register_view(actions, status, titles, results, edit, edit_group)
            for status in actions.statuses(urls)]


class SyncResults:
    """What «Обновить сейчас» did last, per register, for the page after the run."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._results: dict[str, tuple[ExchangeResult, ...]] = {}

    def get(self, key: str) -> tuple[ExchangeResult, ...]:
        with self._lock:
            return self._results.get(key, ())

    def put(self, key: str, results: tuple[ExchangeResult, ...]) -> None:
        with self._lock:
            self._results[key] = results


# --- the window ----------------------------------------------------------------------------


@dataclass
class Window:
    """The first-connection / settings window: which step, and what it shows."""

    title: str
    step: str
    reg: RegisterView
    reason: str | None = None
    error: str | None = None
    plugins: tuple[BackOfficeChoice, ...] = ()
    plugin: str | None = None
    plugin_title: str = ""
    endpoint: str | None = None
    endpoint_editable: bool = False
    choose_plugin: bool = False
    connected: bool = False
    first: bool = False
    periods: tuple[PeriodChoice, ...] = ()
    goods_period: int = 0
    employees_period: int = 0
    preview: dict[str, Any] | None = None


def connect_window(actions: Actions, reg: RegisterView, step: str, *,
                   error: str | None = None, plugin: str | None = None,
                   endpoint: str | None = None) -> Window:
    """«Подключить ККТ» (step ``prompt``), then the code (step ``code``)."""
    options = actions.connect_options()
    chosen = plugin or options.preset_plugin or (
        options.backoffices[0].name if len(options.backoffices) == 1 else None)
    info = next((c for c in options.backoffices if c.name == chosen), None)
    address = endpoint if endpoint is not None else (
        options.preset_endpoint if chosen == options.preset_plugin else None)
    return Window(
        title=_("Подключение к кабинету БЭК-офиса"), step=step, reg=reg,
        reason=reg.prompt_reason, error=error, plugins=options.backoffices, plugin=chosen,
        plugin_title=info.title if info else (chosen or ""), endpoint=address,
        # the address is asked where the plugin has none, and can be changed unless preset
        endpoint_editable=not options.code_only, choose_plugin=not options.code_only)


def settings_window(actions: Actions, reg: RegisterView, *, connected: bool = False,
                    goods: int | None = None, employees: int | None = None,
                    error: str | None = None) -> Window:
    """The periods and «Сохранить»: after «Соединение установлено» on first set-up,
    «Изменить настройки обновления» later."""
    settings = actions.settings(reg.key)
    first = settings.first_setup
    return Window(
        title=_("Подключение к кабинету БЭК-офиса") if first
        else _("Изменить настройки обновления"),
        step="periods", reg=reg, connected=connected, first=first, error=error,
        periods=settings.periods,
        goods_period=settings.goods_period if goods is None else goods,
        employees_period=settings.employees_period if employees is None else employees)


def confirm_window(actions: Actions, reg: RegisterView, goods: int, employees: int,
                   confirmation: Confirmation, *, stale: bool = False) -> Window:
    """«Подтверждение» with what will be deleted; ``stale``: the list changed meanwhile."""
    window = settings_window(actions, reg, goods=goods, employees=employees)
    window.step, window.title = "confirm", confirmation.title
    window.preview = {
        "warning": confirmation.warning, "button": confirmation.button,
        "token": confirmation.token, "stale": stale,
        "goods": confirmation.goods, "groups": confirmation.groups,
        "list_title": _("Будут удалены товары и группы, добавленные на кассе:")
        if confirmation.kind != "sync_off" else
        _("Товары и группы, добавленные на кассе (будут удалены при включении "
          "синхронизации):"),
    }
    return window

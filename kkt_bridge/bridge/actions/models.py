"""What the actions return: frozen dataclasses, whose fields are the local API's schema."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

# --- results ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackOfficeChoice:
    """An installed back office the connect window offers."""

    name: str
    title: str
    description: str
    default_endpoint: str | None
    #: True when the plugin has no default address: the window asks for one
    needs_address: bool


@dataclass(frozen=True)
class ConnectOptions:
    """What the connect window offers, and what the daemon was started with."""

    backoffices: tuple[BackOfficeChoice, ...]
    preset_plugin: str | None
    preset_endpoint: str | None
    #: True when a plugin (and its address, where one is needed) is preset: only the code
    #: is left to type
    code_only: bool


@dataclass(frozen=True)
class Connected:
    """«Соединение установлено»: with whom."""

    register_key: str
    device_url: str
    backoffice: str
    backoffice_title: str
    account: str
    shop: str
    message: str
    replaced: bool


@dataclass(frozen=True)
class PeriodChoice:
    seconds: int
    label: str


@dataclass(frozen=True)
class SettingsView:
    """The register's exchange periods as the settings window shows them."""

    register_key: str
    goods_period: int
    goods_label: str
    employees_period: int
    employees_label: str
    receipts_interval: int
    receipts_text: str
    periods: tuple[PeriodChoice, ...]
    #: True until the settings were saved once after the latest pairing: the goods-sync
    #: confirmation is then the first set-up's «Подтверждение»
    first_setup: bool


@dataclass(frozen=True)
class SettingsChange:
    """A wish from the settings window; None leaves a value as it is."""

    goods_period: int | None = None
    employees_period: int | None = None
    receipts_interval: int | None = None


@dataclass(frozen=True)
class GoodView:
    id: str
    name: str
    price: int
    group_id: str | None
    code: str
    barcodes: tuple[str, ...]
    measure: str
    vat: int
    weighed: bool
    origin: str


@dataclass(frozen=True)
class GroupView:
    id: str
    name: str
    parent_id: str | None
    origin: str


ConfirmationKind = Literal["first_setup", "sync_off", "sync_on"]


@dataclass(frozen=True)
class Confirmation:
    """The «Подтверждение» window: what will be deleted and the button that confirms it.

    ``token`` confirms exactly this list: applying with it after the list changed is refused
    and the new list is shown."""

    kind: ConfirmationKind
    title: str
    warning: str
    button: str
    goods: tuple[GoodView, ...]
    groups: tuple[GroupView, ...]
    token: str


@dataclass(frozen=True)
class SettingsPlan:
    """What «Сохранить» would do: nothing to confirm, or a :class:`Confirmation`."""

    register_key: str
    current: SettingsView
    goods_period: int
    employees_period: int
    receipts_interval: int
    changed: bool
    confirmation: Confirmation | None


@dataclass(frozen=True)
class SettingsSaved:
    settings: SettingsView
    confirmed: str | None
    deleted_goods: int
    deleted_groups: int
    #: goods sync was just turned on: the back office's goods come with the next exchange
    goods_pending: bool


@dataclass(frozen=True)
class ExchangeResult:
    """What one exchange («экспорт товаров», «экспорт сотрудников», «экспорт чеков») did."""

    register_key: str
    job: str
    title: str
    ok: bool
    summary: dict[str, int]
    text: str
    error: str | None
    next_run: datetime | None


@dataclass(frozen=True)
class SyncProgress:
    """One step of «Обновить сейчас»: an exchange started or finished."""

    register_key: str
    job: str
    title: str
    index: int
    total: int
    state: Literal["started", "finished"]
    result: ExchangeResult | None = None
    #: the run this step belongs to (a background «Обновить сейчас» of the page)
    run_id: str = ""


@dataclass(frozen=True)
class SyncResult:
    results: tuple[ExchangeResult, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)


@dataclass(frozen=True)
class RegistrationView:
    inn: str
    rnm: str
    tax_systems: tuple[str, ...]
    tax_systems_mask: int
    work_mode: int
    ffd_version: str
    registered_at: datetime | None
    fd_number: int


@dataclass(frozen=True)
class RegisterFacts:
    """What the register itself says, read in one go."""

    driver: str
    model: str
    model_code: int
    serial: str
    firmware: str
    fn_number: str | None
    fn_valid_until: date | None
    mode: int
    mode_text: str
    registration: RegistrationView | None
    shift_state: str
    shift_text: str
    shift_number: int
    receipt_number: int
    last_fd_number: int | None
    last_document_at: datetime | None
    ofd_unsent: int
    ofd_first_unsent_fd: int | None
    ofd_first_unsent_at: datetime | None
    read_at: datetime

    @property
    def key(self) -> str:
        return f"{self.serial}:{self.fn_number or '-'}"


LinkState = Literal["ok", "unreachable", "unplugged", "unknown"]


@dataclass(frozen=True)
class LinkHealth:
    state: LinkState
    text: str
    error: str | None = None
    checked_at: datetime | None = None


@dataclass(frozen=True)
class PairingView:
    backoffice: str
    endpoint: str
    account: str
    shop: str
    paired_at: datetime | None


@dataclass(frozen=True)
class ExchangeView:
    job: str
    title: str
    enabled: bool
    period_label: str
    last_run: datetime | None
    last_success: datetime | None
    next_run: datetime | None
    failures: int
    last_error: str | None


@dataclass(frozen=True)
class FailedExport:
    """The document the back office refuses; the export waits at it («Повторить»)."""

    fd_number: int
    attempts: int
    error: str | None
    at: datetime | None


@dataclass(frozen=True)
class ReplacedFn:
    fn_number: str
    cursor: int
    last_fd: int
    outbox: int
    unsent: int
    unread: int


@dataclass(frozen=True)
class BacklogView:
    fn_number: str
    cursor: int
    last_fd: int | None
    outbox: int
    unsent: int
    replaced_fns: tuple[ReplacedFn, ...] = ()


@dataclass(frozen=True)
class PromptView:
    """A current «Подключить ККТ» prompt, with its reason in the request's language."""

    id: int
    url: str
    register_key: str
    serial: str
    fn_number: str
    model: str
    reason: str
    reason_text: str
    raised_at: datetime


@dataclass(frozen=True)
class SharedPortView:
    """Where cash software reaches the register beside the bridge: the shared port that
    ``kkt-bridge run`` opens (the keys of ``status --json``'s ``shared_port``)."""

    register: str
    device: str
    path: str  # the one line an integrator changes: the port the cash software opens
    pty: str
    tcp: str | None


@dataclass(frozen=True)
class PortHolderView:
    """Another program that has the register's real port open (around the bridge)."""

    pid: int
    name: str


@dataclass(frozen=True)
class RegisterStatus:
    """Everything the page and ``kkt-bridge status`` show about one register."""

    device_url: str | None
    register_key: str | None
    link: LinkHealth
    facts: RegisterFacts | None
    pairing: PairingView | None
    settings: SettingsView | None
    exchanges: tuple[ExchangeView, ...]
    backlog: BacklogView | None
    failed_export: FailedExport | None
    prompt: PromptView | None
    shared_port: SharedPortView | None = None
    port_holders: tuple[PortHolderView, ...] = ()


@dataclass(frozen=True)
class CatalogView:
    register_key: str
    editable: bool
    locked_reason: str | None
    groups: tuple[GroupView, ...]
    goods: tuple[GoodView, ...]


@dataclass(frozen=True)
class GoodInput:
    """A good as typed at the register; an empty ``id`` gets a local one."""

    name: str
    price: int
    id: str = ""
    group_id: str | None = None
    code: str = ""
    barcodes: tuple[str, ...] = ()
    measure: str = "шт"
    vat: int = 6
    weighed: bool = False


@dataclass(frozen=True)
class GroupInput:
    name: str
    id: str = ""
    parent_id: str | None = None


@dataclass(frozen=True)
class BackOfficePreset:
    """The back office a POS is set up for (``run --plugin NAME --backoffice URL``)."""

    plugin: str | None = None
    endpoint: str | None = None



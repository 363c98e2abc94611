"""The seed's dialogues as typed actions: one layer under the CLI, the page and the API.

Each dialogue of the help page exists here once: «Подключить ККТ» (:meth:`Actions.connect`),
«Изменить настройки обновления» with its «Подтверждение» (:meth:`Actions.preview_settings`,
:meth:`Actions.apply_settings`), «Обновить сейчас» (:meth:`Actions.sync_now`), the register's
state (:meth:`Actions.status`), the current connect prompts and the catalog. The shells only
turn input into arguments and results into text, HTML or JSON: nothing here knows click,
HTML or HTTP. Results are frozen dataclasses, whose fields are the API's schema.

A register is reached through a :class:`~kkt_bridge.bridge.access.RegisterAccess`: the
daemon's worker for that register (requests queue behind its jobs) or, with no daemon, the
port opened for the one action. Messages are translated when the result is built, so a
result is in the language of the request that asked for it.
"""

from kkt_bridge.bridge.actions.core import Actions
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
    LinkState,
    PairingView,
    PeriodChoice,
    PortHolderView,
    PromptView,
    RegisterFacts,
    RegisterStatus,
    RegistrationView,
    ReplacedFn,
    SettingsChange,
    SettingsPlan,
    SettingsSaved,
    SettingsView,
    SharedPortView,
    SyncProgress,
    SyncResult,
)
from kkt_bridge.bridge.actions.views import (
    describe_summary,
    exchange_result,
    read_facts,
)

__all__ = [
    "Actions",
    "BackOfficeChoice",
    "BackOfficePreset",
    "BacklogView",
    "CatalogView",
    "Confirmation",
    "ConfirmationKind",
    "ConnectOptions",
    "Connected",
    "ExchangeResult",
    "ExchangeView",
    "FailedExport",
    "GoodInput",
    "GoodView",
    "GroupInput",
    "GroupView",
    "LinkHealth",
    "LinkState",
    "PairingView",
    "PeriodChoice",
    "PortHolderView",
    "PromptView",
    "RegisterFacts",
    "RegisterStatus",
    "RegistrationView",
    "ReplacedFn",
    "SettingsChange",
    "SettingsPlan",
    "SettingsSaved",
    "SettingsView",
    "SharedPortView",
    "SyncProgress",
    "SyncResult",
    "describe_summary",
    "exchange_result",
    "read_facts",
]

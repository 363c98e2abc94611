"""What the store hands out: frozen records, times as POSIX seconds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kkt_bridge.exchange import Credentials, Good, GoodsGroup

Origin = Literal["backoffice", "register"]
ORIGIN_BACKOFFICE: Origin = "backoffice"
ORIGIN_REGISTER: Origin = "register"

DEFAULT_RECEIPTS_INTERVAL = 60


@dataclass(frozen=True)
class RegisterRecord:
    """A register + ФН the bridge has seen (``register_key`` = Identity.key)."""

    register_key: str
    serial: str
    fn_number: str
    model: str = ""
    device_url: str | None = None
    inn: str | None = None
    rnm: str | None = None
    #: ФД number of the registration report last seen: a change means re-registration
    registration_fd: int | None = None
    #: the ФН's last ФД number when the bridge last looked (for "unsent documents")
    last_fd_number: int | None = None
    #: the driver (protocol) the register speaks: "shtrih", "atol"
    driver: str = "shtrih"


@dataclass(frozen=True)
class ExchangeSettings:
    """Periods in seconds; 0 is «Никогда». Receipts are always exported."""

    goods_period: int = 0
    employees_period: int = 0
    receipts_interval: int = DEFAULT_RECEIPTS_INTERVAL

    @property
    def goods_sync(self) -> bool:
        return self.goods_period > 0


@dataclass(frozen=True)
class Pairing:
    register_key: str
    credentials: Credentials
    paired_at: float


@dataclass(frozen=True)
class StoredGroup:
    group: GoodsGroup
    origin: Origin


@dataclass(frozen=True)
class StoredGood:
    good: Good
    origin: Origin


@dataclass(frozen=True)
class OutboxDocument:
    fn_number: str
    fd_number: int
    document_type: int
    fns: dict[str, Any]
    raw: bytes = field(repr=False)


@dataclass(frozen=True)
class JobRun:
    register_key: str
    job: str
    last_run_at: float | None = None
    last_success_at: float | None = None
    next_run_at: float | None = None
    failures: int = 0
    last_error: str | None = None


@dataclass(frozen=True)
class Event:
    id: int
    at: float
    register_key: str | None
    kind: str
    message: str
    data: dict[str, Any]

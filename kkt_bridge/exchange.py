"""What travels between the bridge and a back office: frozen models, money in kopecks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kkt_bridge.redaction import redact_url


@dataclass(frozen=True)
class RegisterIdentity:
    """The register as a back office sees it at pairing and with every request."""

    serial: str
    fn_number: str
    model: str
    inn: str | None = None
    rnm: str | None = None
    installation_id: str | None = None


@dataclass(frozen=True)
class Credentials:
    """What pairing returned. ``token`` is a secret: it is left out of repr and logs."""

    backoffice: str  # plugin name
    endpoint: str  # base URL of the back office API
    token: str = field(repr=False)
    account: str = ""  # organisation / account name, for display
    shop: str = ""  # shop / retail store name, for display
    extra: Mapping[str, str] = field(default_factory=dict)

    def redacted(self) -> dict[str, Any]:
        return {
            "backoffice": self.backoffice,
            "endpoint": redact_url(self.endpoint),
            "token": "***",
            "account": self.account,
            "shop": self.shop,
        }


@dataclass(frozen=True)
class GoodsGroup:
    id: str  # the back office's id (or "local:<n>" for groups added at the register)
    name: str
    parent_id: str | None = None


@dataclass(frozen=True)
class Good:
    id: str
    name: str
    price: int  # kopecks
    group_id: str | None = None
    code: str = ""  # the cash software's product code (PLU)
    barcodes: tuple[str, ...] = ()
    measure: str = "шт"
    vat: int = 6  # tag 1199: 1 = 20 %, 2 = 10 %, 5 = 0 %, 6 = без НДС
    weighed: bool = False


@dataclass(frozen=True)
class Catalog:
    groups: tuple[GoodsGroup, ...]
    goods: tuple[Good, ...]
    #: True when this is the whole catalog; False for a changed-since delta
    complete: bool = True
    as_of: datetime | None = None


@dataclass(frozen=True)
class Employee:
    id: str
    name: str
    role: str = "cashier"  # cashier | admin
    inn: str = ""


@dataclass(frozen=True)
class ExportDocument:
    """A fiscal document on its way out; ``key`` is the idempotency key."""

    fn_number: str
    fd_number: int
    document_type: int
    fns: Mapping[str, Any]  # the FNS receipt JSON shape (kkt_bridge.fiscal)
    raw: bytes = field(repr=False, default=b"")

    @property
    def key(self) -> str:
        return f"{self.fn_number}:{self.fd_number}"


@dataclass(frozen=True)
class Ack:
    """One back-office answer per exported document.

    ``accepted`` is True for a new document and for a repeat of one already stored
    (``duplicate``); only accepted documents move the export cursor.
    """

    key: str
    accepted: bool
    duplicate: bool = False
    error: str | None = None


@dataclass(frozen=True)
class BackOfficeInfo:
    name: str
    title: str
    description: str = ""
    default_endpoint: str | None = None

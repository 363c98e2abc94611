"""How a register driver plugs in: the ``kkt_bridge.drivers`` entry-point group.

An entry point names a module (or object) with a ``driver`` attribute that satisfies
:class:`Driver`. The built-in Shtrih-M driver registers this way
(``shtrih = "kkt_bridge.drivers.shtrih.plugin"``), exactly as a third-party package would.
The core uses drivers only through this protocol and :class:`kkt_bridge.kkt.Kkt`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Protocol, runtime_checkable

from kkt_bridge.errors import PluginError
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.share.rules import ExchangeRules

GROUP = "kkt_bridge.drivers"


@dataclass(frozen=True)
class UsbId:
    vendor: int
    product: int | None  # None: any product of this vendor
    title: str
    cdc_acm: bool = True  # False: no CDC driver, reach it with usb://VID:PID

    def matches(self, vendor: int, product: int) -> bool:
        return vendor == self.vendor and self.product in (None, product)

    def __str__(self) -> str:
        product = "*" if self.product is None else f"{self.product:04X}"
        return f"{self.vendor:04X}:{product}"


@dataclass(frozen=True)
class ProbeResult:
    """What a driver found on a link: enough to list it in ``kkt-bridge devices``."""

    driver: str
    url: str
    baudrate: int | None
    model: str
    serial: str


@runtime_checkable
class Driver(Protocol):
    name: str  # "shtrih"
    title: str  # "Штрих-М"
    usb_ids: tuple[UsbId, ...]
    default_tcp_port: int | None
    #: serial speeds to try when probing, fastest first
    probe_speeds: tuple[int, ...]

    def probe(self, url: str, baudrate: int | None, timeout: float) -> ProbeResult | None:
        """Ask whatever is at ``url`` whether it is a register of this protocol.

        Return None when it is silent or speaks something else; raise LinkError subclasses
        for a missing, busy or forbidden port (those are not "not a register")."""
        ...

    def open(self, url: str, *, baudrate: int | None = None, **options: Any) -> Kkt:
        """Open a register at ``url`` (any form :func:`kkt_bridge.link.open_link` takes)."""
        ...


def exchange_rules_of(driver: Driver) -> ExchangeRules | None:
    """The driver's rules for sharing its link (:mod:`kkt_bridge.share.rules`), or None
    when it declares none (then its registers get no shared port).

    Optional on purpose: a driver offers them with an ``exchange_rules()`` method that
    returns an :class:`~kkt_bridge.share.rules.ExchangeRules`; its docstring says how a
    protocol's exchanges (Shtrih-M's handshake, ATOL's task buffer and asynchronous
    result) are declared."""
    method = getattr(driver, "exchange_rules", None)
    if method is None:
        return None
    rules = method()
    if not isinstance(rules, ExchangeRules):
        raise PluginError(_("драйвер {name}: правила общего порта неполны").format(
            name=driver.name), _("обновите пакет драйвера"))
    return rules


def load_drivers() -> dict[str, Driver]:
    """Every installed driver by name; a broken one is reported as PluginError."""
    drivers: dict[str, Driver] = {}
    for ep in entry_points(group=GROUP):
        try:
            loaded = ep.load()
        except Exception as exc:  # whatever a third-party module raises: name the package
            raise PluginError(
                _("драйвер {name} не загружается: {reason}").format(name=ep.name, reason=exc),
                _("переустановите пакет драйвера или удалите его")) from exc
        driver = getattr(loaded, "driver", loaded)
        drivers[driver.name] = driver
    return drivers


def get_driver(name: str) -> Driver:
    """The installed driver ``name``; PluginError naming the installed ones otherwise."""
    drivers = load_drivers()
    try:
        return drivers[name]
    except KeyError:
        known = ", ".join(sorted(drivers)) or "—"
        raise PluginError(_("драйвер {name!r} не установлен (есть: {known})").format(
            name=name, known=known), _("установите пакет драйвера или укажите --driver")
        ) from None

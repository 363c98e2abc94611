"""How a register driver plugs in: the ``kkt_bridge.drivers`` entry-point group.

An entry point names a module (or object) with a ``driver`` attribute that satisfies
:class:`Driver`. The built-in Shtrih-M driver registers this way
(``shtrih = "kkt_bridge.drivers.shtrih.plugin"``), exactly as a third-party package would.
The core uses drivers only through this protocol and :class:`kkt_bridge.kkt.Kkt`.

The emulator factory
--------------------
A driver may also offer an emulated register of its protocol: an ``emulator`` attribute
on the driver object, either a :class:`kkt_bridge.emulation.FrontEnd` or a
``"module:attribute"`` path to one (imported only when an emulator is asked for, so
opening a real register never loads the emulator). The front end is the protocol's face
over the protocol-neutral virtual register of :mod:`kkt_bridge.emulation` (its module
documentation says how to write one). :func:`get_emulator` finds it by driver name; with
it ``kkt-bridge emulator --driver NAME``, the control commands of ``kkt-bridge emulator``,
and the pytest fixture ``kkt_emulator_factory(driver=NAME)`` work for the new protocol
with no change in the core. The Shtrih driver's is
``emulator = "kkt_bridge.drivers.shtrih.emulator.frontend:FRONT_END"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kkt_bridge.errors import PluginError
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt
from kkt_bridge.share.rules import ExchangeRules

if TYPE_CHECKING:
    from kkt_bridge.emulation.emulator import FrontEnd

GROUP = "kkt_bridge.drivers"
DEFAULT_DRIVER = "shtrih"


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
    # probing asks in this order: the built-in default first, the rest by name, so the
    # order does not depend on how the packages happened to be installed
    return dict(sorted(drivers.items(), key=lambda item: (item[0] != DEFAULT_DRIVER, item[0])))


def get_driver(name: str) -> Driver:
    """The installed driver ``name``; PluginError naming the installed ones otherwise."""
    drivers = load_drivers()
    try:
        return drivers[name]
    except KeyError:
        known = ", ".join(sorted(drivers)) or "—"
        raise PluginError(_("драйвер {name!r} не установлен (есть: {known})").format(
            name=name, known=known),
            # the name came from --driver or a record: say which names it takes
            _("укажите --driver {first} (один из: {known}) или установите пакет драйвера "
              "{name!r}").format(first=sorted(drivers)[0] if drivers else "NAME",
                                 known=known, name=name)) from None


def get_emulator(name: str = DEFAULT_DRIVER) -> FrontEnd:
    """The emulator front end the installed driver ``name`` offers (see the module doc);
    PluginError when there is no such driver or it offers no emulator."""
    from kkt_bridge.emulation.emulator import FrontEnd

    driver = get_driver(name)
    target: Any = getattr(driver, "emulator", None)
    if target is None:
        with_emulator = sorted(n for n, d in load_drivers().items()
                               if getattr(d, "emulator", None) is not None)
        raise PluginError(
            _("драйвер {name} не предлагает эмулятор").format(name=name),
            _("эмулятор есть у драйверов: {names}").format(names=", ".join(with_emulator) or "—"))
    if isinstance(target, str):
        module, _sep, attribute = target.partition(":")
        try:
            target = getattr(import_module(module), attribute)
        except (ImportError, AttributeError) as exc:
            raise PluginError(
                _("эмулятор драйвера {name} не загружается: {reason}").format(
                    name=name, reason=exc),
                _("переустановите пакет драйвера")) from exc
    if not isinstance(target, FrontEnd):
        raise PluginError(
            _("эмулятор драйвера {name} не является FrontEnd: {what!r}").format(
                name=name, what=target),
            _("драйвер должен предлагать kkt_bridge.emulation.FrontEnd"))
    return target

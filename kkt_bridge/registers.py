"""Open a register by URL and driver name: what the CLI and the bridge call.

The driver is part of a register's identity. When the caller knows it (``--driver``, the
store's record) it is used as is; otherwise each installed driver probes the link by
protocol (never by USB id alone: ATOL's vendor id is unverified). Nothing is cached: a pty
path or a port may hold another register the next time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kkt_bridge.driverapi import get_driver, load_drivers
from kkt_bridge.errors import KktBridgeError, NotARegisterError
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt

#: how long each driver may take to answer its probe
PROBE_TIMEOUT = 0.5


def detect_driver(url: str, *, baudrate: int | None = None,
                  timeout: float = PROBE_TIMEOUT) -> str:
    """The name of the driver whose protocol the register at ``url`` speaks.

    Raises NotARegisterError when no installed driver gets an answer, LinkError subclasses
    for a port that cannot be opened."""
    from kkt_bridge.link.urls import has_speed, with_default_port

    drivers = load_drivers()
    # each driver at its usual speed first, then the others: a register of the second
    # protocol is found after one short probe of the first, not after all its speeds
    attempts: list[tuple[Any, str, int | None]] = []
    for later in (False, True):
        for driver in drivers.values():
            target = with_default_port(url, driver.default_tcp_port)
            if baudrate is not None or not has_speed(target):
                speeds: tuple[int | None, ...] = () if later else (baudrate,)
            else:
                usual = tuple(driver.probe_speeds) or (None,)
                speeds = usual[1:] if later else usual[:1]
            attempts += [(driver, target, speed) for speed in speeds]
    found = None
    for driver, target, speed in attempts:
        found = driver.probe(target, speed, timeout)
        if found is not None:
            break
    if found is None:
        raise NotARegisterError(
            _("по адресу {url} не отвечает ККТ ни одного известного протокола ({known})")
            .format(url=url, known=", ".join(drivers)),
            _("проверьте адрес и питание ККТ или укажите протокол: --driver shtrih|atol"))
    return found.driver


def open_register(url: str, *, driver: str | None = None, baudrate: int | None = None,
                  **options: Any) -> Kkt:
    """The register at ``url`` through the named driver, or the one that answers a probe.

    Raises PluginError for an unknown driver, NotARegisterError when nothing answers a
    probe, and LinkError subclasses for a port that cannot be opened; the caller closes the
    returned register.
    """
    name = driver or detect_driver(url, baudrate=baudrate)
    return get_driver(name).open(url, baudrate=baudrate, **options)


def opener(driver: str | None = None, known: Mapping[str, str] | None = None,
           open_fn: Callable[..., Kkt] | None = None) -> Callable[[str], Kkt]:
    """``open_register`` for a daemon: ``driver`` for every URL when given, else the driver
    the store recorded for that URL (``known``: URL -> driver), else a probe."""
    remembered = dict(known or {})
    do_open = open_fn or open_register

    def open_url(url: str) -> Kkt:
        return do_open(url, driver=driver or remembered.get(url))

    return open_url


def recorded_drivers(records: Iterable[Any]) -> dict[str, str]:
    """URL -> driver of the store's register records (those with a URL)."""
    return {r.device_url: r.driver for r in records if getattr(r, "device_url", None)}


def driver_of(driver: str | None = None,
              known: Mapping[str, str] | None = None) -> Callable[[str], str | None]:
    """The driver of the register at a URL: ``driver`` when given, else the one the store
    recorded (``known``: URL -> driver), else the one that answers a probe; None when
    nothing answers (the register is unplugged or not a register)."""
    remembered = dict(known or {})

    def find(url: str) -> str | None:
        if driver or url in remembered:
            return driver or remembered[url]
        try:
            remembered[url] = detect_driver(url)
        except KktBridgeError:
            return None
        return remembered[url]

    return find

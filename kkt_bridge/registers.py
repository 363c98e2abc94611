"""Open a register by URL and driver name: what the CLI and the bridge call.

The driver is part of a register's identity. When the caller knows it (``--driver``, the
store's record) it is used as is; otherwise each installed driver probes the link by
protocol (never by USB id alone: ATOL's vendor id is unverified) and the answer is
remembered for this URL for the life of the process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kkt_bridge.driverapi import get_driver, load_drivers
from kkt_bridge.errors import NotARegisterError
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt

DEFAULT_DRIVER = "shtrih"
#: how long each driver may take to answer its probe
PROBE_TIMEOUT = 0.5

_detected: dict[str, str] = {}


def detect_driver(url: str, *, baudrate: int | None = None,
                  timeout: float = PROBE_TIMEOUT) -> str:
    """The name of the driver whose protocol the register at ``url`` speaks.

    Raises NotARegisterError when no installed driver gets an answer, LinkError subclasses
    for a port that cannot be opened."""
    known = _detected.get(url)
    if known is not None:
        return known
    from kkt_bridge.link.discovery import probe

    drivers = load_drivers()
    found = None
    if baudrate is not None:  # the speed is known: one probe per driver
        for driver in drivers.values():
            found = driver.probe(url, baudrate, timeout)
            if found is not None:
                break
    else:
        found = probe(url, drivers, timeout=timeout)
    if found is None:
        raise NotARegisterError(
            _("по адресу {url} не отвечает ККТ ни одного известного протокола ({known})")
            .format(url=url, known=", ".join(drivers)),
            _("проверьте адрес и питание ККТ или укажите протокол: --driver shtrih|atol"))
    _detected[url] = found.driver
    return found.driver


def forget(url: str) -> None:
    """Drop what was detected for ``url`` (a register was swapped on that port)."""
    _detected.pop(url, None)


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

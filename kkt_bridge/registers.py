"""Open a register by URL and driver name: what the CLI and the bridge call.

The driver is part of a register's identity. When the caller knows it (``--driver``, the
store's record) it is used as is; otherwise each installed driver probes the link by
protocol (never by USB id alone: ATOL's vendor id is unverified).

Nothing is trusted without a probe (a pty path or a port may hold another register the
next time), but the probes are ordered by what is likely: the driver a caller names as
likely (the store's record for that URL), the one that answered at that URL last in this
process, the one whose usual TCP port the URL names. A probe of the wrong protocol costs its
whole time-out (Shtrih-M's two ENQs take a second before ATOL is asked), so asking the
likely one first saves that; when it does not answer, every other driver is asked exactly
as before, so an unknown register is found as reliably as without a hint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kkt_bridge.driverapi import get_driver, load_drivers
from kkt_bridge.errors import (
    KktBridgeError,
    LinkClosedError,
    LinkTimeoutError,
    NotARegisterError,
    ProtocolError,
)
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Kkt

#: how long each driver may take to answer its probe
PROBE_TIMEOUT = 0.5
#: how many URLs this process remembers the answering driver of (oldest forgotten first)
REMEMBERED_URLS = 256

#: URL -> the driver that answered a probe there last, in this process: asked first next time
_answered: dict[str, str] = {}


def remember_driver(url: str, driver: str) -> None:
    """Note that ``driver`` answered at ``url``: the next detection there asks it first."""
    _answered.pop(url, None)
    _answered[url] = driver
    while len(_answered) > REMEMBERED_URLS:
        _answered.pop(next(iter(_answered)))


def probe_order(url: str, drivers: Mapping[str, Any], likely: str | None = None) -> list[str]:
    """The names of ``drivers`` (the installed ones, in their own order) likely first:
    ``likely``, then the driver that answered at ``url`` last, then the drivers whose usual
    TCP port ``url`` names. The same drivers, none dropped: only the order changes."""
    from kkt_bridge.link.urls import LinkKind, link_kind, network_address

    names = list(drivers)
    first = [likely, _answered.get(url)]
    if link_kind(url) in (LinkKind.SOCKET, LinkKind.RFC2217):
        port = network_address(url)[1]
        if port is not None:
            first += [n for n in names if getattr(drivers[n], "default_tcp_port", None) == port]
    head = [n for n in dict.fromkeys(first) if n is not None and n in names]
    return head + [n for n in names if n not in head]


def detect_driver(url: str, *, baudrate: int | None = None,
                  timeout: float = PROBE_TIMEOUT, likely: str | None = None) -> str:
    """The name of the driver whose protocol the register at ``url`` speaks; ``likely``
    (a driver name, e.g. the store's record) is asked first (:func:`probe_order`).

    Raises NotARegisterError when no installed driver gets an answer, LinkError subclasses
    for a port that cannot be opened."""
    from kkt_bridge.link.urls import has_speed, with_default_port

    drivers = load_drivers()
    ordered = [drivers[name] for name in probe_order(url, drivers, likely)]
    # each driver at its usual speed first, then the others: a register of the second
    # protocol is found after one short probe of the first, not after all its speeds
    attempts: list[tuple[Any, str, int | None]] = []
    for later in (False, True):
        for driver in ordered:
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
            # a register serving another program is as silent as no register at all
            _("проверьте адрес и питание ККТ и что с ней не работает другая программа, или "
              "укажите протокол: --driver {names}").format(names="|".join(drivers)))
    remember_driver(url, found.driver)
    return found.driver


def open_register(url: str, *, driver: str | None = None, baudrate: int | None = None,
                  likely: str | None = None, **options: Any) -> Kkt:
    """The register at ``url`` through the named driver, or the one that answers a probe
    (``likely`` asked first: :func:`detect_driver`).

    Raises PluginError for an unknown driver, NotARegisterError when nothing answers a
    probe, and LinkError subclasses for a port that cannot be opened; the caller closes the
    returned register.
    """
    name = driver or detect_driver(url, baudrate=baudrate, likely=likely)
    return get_driver(name).open(url, baudrate=baudrate, **options)


def other_driver_answering(url: str, driver: str, *,
                           timeout: float = PROBE_TIMEOUT) -> Any | None:
    """The probe result of an installed driver other than ``driver`` that answers at
    ``url`` (each at its usual speed), None when none does: why a register opened through
    ``--driver`` stayed silent."""
    from kkt_bridge.link.urls import has_speed, with_default_port

    drivers = load_drivers()
    for name in probe_order(url, drivers):
        if name == driver:
            continue
        other = drivers[name]
        target = with_default_port(url, other.default_tcp_port)
        speed = (tuple(other.probe_speeds) or (None,))[0] if has_speed(target) else None
        try:
            found = other.probe(target, speed, timeout)
        except KktBridgeError:
            return None  # the port itself is the trouble: the caller's error says so
        if found is not None:
            remember_driver(url, found.driver)
            return found
    return None


def wrong_driver(url: str, driver: str | None, error: KktBridgeError) -> KktBridgeError:
    """``error`` of a register opened through ``--driver``, or, when another protocol
    answers at ``url``, the error that names the ``--driver`` to give instead."""
    if driver is None or not isinstance(error, (LinkTimeoutError, LinkClosedError,
                                                NotARegisterError, ProtocolError)):
        return error
    found = other_driver_answering(url, driver)
    if found is None:
        return error
    # a driver's title is a word of the UI («Штрих-М», «АТОЛ»): the catalog has it
    wanted = _(getattr(load_drivers().get(driver), "title", driver))
    title = _(getattr(load_drivers().get(found.driver), "title", found.driver))
    return NotARegisterError(
        _("по адресу {url} отвечает ККТ {title} ({model}), а не {wanted}").format(
            url=url, title=title, model=found.model, wanted=wanted),
        _("укажите --driver {name} или уберите --driver: протокол определится опросом")
        .format(name=found.driver))


def answering(open_kkt: Callable[[], Kkt], url: str, driver: str) -> Kkt:
    """The register ``open_kkt`` opens at ``url`` through ``--driver``, once it has answered
    a first question; when opening fails or it stays silent, it is closed (a network
    register takes one connection at a time) and :func:`wrong_driver` names the protocol
    that does answer there. For commands whose work would otherwise fail deep inside (a
    pairing, an exchange job) with a bare time-out. Some drivers already talk when they
    open (ATOL), others at the first command (Shtrih-M): both are covered."""
    try:
        kkt = open_kkt()
    except KktBridgeError as exc:
        raise wrong_driver(url, driver, exc) from None
    try:
        kkt.identity()
    except KktBridgeError as exc:
        kkt.close()
        raise wrong_driver(url, driver, exc) from None
    return kkt


def recorded_opener(recorded: Callable[[], Mapping[str, str]],
                    open_fn: Callable[..., Kkt] | None = None) -> Callable[[str], Kkt]:
    """``open_register`` for a command without ``--driver``: the driver the store recorded
    for the URL (``recorded()``: URL -> driver, read when the register is opened, so a
    pairing made a moment ago counts) is probed first, and the others after it when it
    does not answer (the port may hold another register now)."""
    do_open = open_fn or open_register

    def open_url(url: str) -> Kkt:
        hint = recorded().get(url)
        return do_open(url, likely=hint) if hint else do_open(url)

    return open_url


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

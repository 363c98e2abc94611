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

import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kkt_bridge.driverapi import get_driver, load_drivers
from kkt_bridge.errors import (
    KktBridgeError,
    LinkClosedError,
    LinkTimeoutError,
    NotARegisterError,
    PortBusyError,
    ProtocolError,
)
from kkt_bridge.i18n import _
from kkt_bridge.kkt import Identity, Kkt

log = logging.getLogger(__name__)

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
              known: Mapping[str, str] | DriverMap | None = None,
              ) -> Callable[[str], str | None]:
    """The driver of the register at a URL: ``driver`` when given, else the one the store
    recorded (``known``: URL -> driver; a :class:`DriverMap` is read live, so a protocol
    switch of :func:`fallback_opener` counts), else the one that answers a probe; None
    when nothing answers (the register is unplugged or not a register)."""
    remembered = known if isinstance(known, DriverMap) else DriverMap(known)

    def find(url: str) -> str | None:
        if driver:
            return driver
        found = remembered.get(url)
        if found is not None:
            return found
        try:
            found = detect_driver(url)
        except KktBridgeError:
            return None
        remembered.set(url, found)
        return found

    return find


#: how "the recorded driver gets no answer" shows: the register there may speak another
#: protocol now. PortBusyError too: an ATOL driver reads a silent socket as a register
#: serving another program (one client at a time), and a Shtrih-M register is silent to it.
NO_ANSWER = (LinkTimeoutError, LinkClosedError, NotARegisterError, ProtocolError,
             PortBusyError)


class DriverMap:
    """URL -> driver as the store recorded it, corrected in this process when the register
    at a URL answers through another protocol (:func:`fallback_opener`). Shared by the
    daemon's opener and its shared ports, so both speak what the register speaks now."""

    def __init__(self, recorded: Mapping[str, str] | None = None) -> None:
        self._drivers = dict(recorded or {})
        self._lock = threading.Lock()

    def get(self, url: str) -> str | None:
        with self._lock:
            return self._drivers.get(url)

    def set(self, url: str, driver: str) -> None:
        with self._lock:
            self._drivers[url] = driver


@dataclass(frozen=True)
class KnownRegister:
    """A register the store paired or saw at a URL: what "the same register" is checked
    against."""

    register_key: str
    serial: str
    fn_number: str
    model: str
    driver: str


@dataclass(frozen=True)
class ProtocolSwitch:
    """The recorded driver got no answer at ``url`` and ``new`` did: the register there is
    ``found``; ``same`` says whether it is one the store knows at that URL (``known``)."""

    url: str
    old: str
    new: str
    found: Identity
    known: tuple[KnownRegister, ...]
    same: bool

    def message(self) -> KktBridgeError:
        """What happened, in words, and what to do (a KktBridgeError carries both)."""
        new_title = _driver_title(self.new)
        old_title = _driver_title(self.old)
        if self.same:
            return KktBridgeError(
                _("ККТ {model}, зав. № {serial}, по адресу {url} теперь отвечает по протоколу "
                  "{new}, а не {old}: kkt-bridge работает с ней по протоколу {new}").format(
                    model=self.found.model, serial=self.found.serial, url=self.url,
                    new=new_title, old=old_title),
                _("подключение к бэк-офису сохраняется; если кассовая программа работает через "
                  "общий порт kkt-bridge, переключите её на протокол {new}").format(
                    new=new_title))
        before = ", ".join(_("{model}, зав. № {serial}").format(model=k.model or
                                                                 _driver_title(k.driver),
                                                                 serial=k.serial)
                           for k in self.known) or "—"
        return KktBridgeError(
            _("по адресу {url} вместо ККТ {old} ({before}) отвечает другая ККТ: {model}, "
              "зав. № {serial}, протокол {new}").format(
                url=self.url, old=old_title, before=before, new=new_title,
                model=self.found.model, serial=self.found.serial),
            _("подключение к бэк-офису принадлежит прежней ККТ и на новую не переносится: "
              "если ККТ заменили, подключите новую кодом синхронизации («Подключить ККТ» на "
              "странице kkt-bridge или kkt-bridge connect --device {url}); прежняя ККТ, "
              "вернувшись на этот порт, продолжит работу со своим подключением").format(
                url=self.url))


def _driver_title(name: str) -> str:
    # a driver's title is a word of the UI («Штрих-М», «АТОЛ»): the catalog has it
    return _(getattr(load_drivers().get(name), "title", name))


def is_same_register(found: Identity, known: Iterable[KnownRegister]) -> bool:
    """The register ``found`` is one of ``known``: the same serial number, or the same ФН
    (a ФН is fiscalised in one register and stays there)."""
    return any(found.serial == k.serial or (found.fn_number and found.fn_number == k.fn_number)
               for k in known)


def fallback_opener(drivers: DriverMap, known: Callable[[str], Iterable[KnownRegister]], *,
                    open_fn: Callable[..., Kkt] | None = None,
                    release: Callable[[str], None] | None = None,
                    on_switch: Callable[[ProtocolSwitch], None] | None = None,
                    timeout: float = PROBE_TIMEOUT) -> Callable[[str], Kkt]:
    """``open_register`` for ``kkt-bridge run`` without ``--driver``: the driver the store
    recorded for the URL (``drivers``), and, when it gets no answer (:data:`NO_ANSWER`),
    the other installed protocols probed once per call (the daemon calls once per
    reconnect attempt). A shop may swap a Shtrih-M register for an ATOL one on the same
    port or address; a register may also be switched to another protocol in its settings.

    The register that answers is opened and identified: when it is one the store knows at
    that URL (``known(url)``, :func:`is_same_register`), its driver is used from now on
    (``drivers`` is updated; the daemon's next observation records it in the store); when it
    is another register, it is served as any new register is (its own identity, no
    pairing: the «Подключить ККТ» prompt follows), the old register's record and pairing
    are left alone, and ``on_switch`` says so in words. ``release(url)`` frees the port
    before the probe (a shared port's owner holds it). A URL the store has no driver for
    is probed as :func:`open_register` does."""
    do_open = open_fn or open_register

    def open_url(url: str) -> Kkt:
        recorded = drivers.get(url)
        if recorded is None:
            return do_open(url)
        try:
            return _answering_kkt(do_open(url, driver=recorded))
        except NO_ANSWER as exc:
            if release is not None:
                release(url)
            found = other_driver_answering(url, recorded, timeout=timeout)
            if found is None:
                raise exc from None
            try:
                kkt = do_open(url, driver=found.driver)
                identity = _identity_or_close(kkt)
            except KktBridgeError:
                if release is not None:
                    release(url)
                raise exc from None
        registers = tuple(known(url))
        already = tuple(k for k in registers if is_same_register(identity, [k]))
        switch = ProtocolSwitch(url=url, old=recorded, new=found.driver, found=identity,
                                known=registers, same=bool(already))
        # either way the register there speaks this protocol now: the next reconnect asks
        # it first, and the shared port speaks it
        drivers.set(url, found.driver)
        if already and all(k.driver == found.driver for k in already):
            # the store knows this register speaks this protocol: another record at the
            # same URL (the register it replaced) was asked first, nothing changed
            log.info("register at %s answers through %s, as recorded for %s", url,
                     found.driver, identity.key)
        elif on_switch is not None:
            on_switch(switch)
        return kkt

    return open_url


def _identity_or_close(kkt: Kkt) -> Identity:
    """``kkt``'s identity, its first question (Shtrih-M talks only at the first command,
    ATOL already when it opens); ``kkt`` is closed when it stays silent."""
    try:
        return kkt.identity()
    except BaseException:
        kkt.close()
        raise


def _answering_kkt(kkt: Kkt) -> Kkt:
    """``kkt`` once it has answered a first question; closed when it stays silent."""
    _identity_or_close(kkt)
    return kkt

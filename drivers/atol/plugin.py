"""The ATOL driver as the ``kkt_bridge.drivers`` entry point sees it: ``driver``."""

from __future__ import annotations

import contextlib
from typing import Any

from kkt_bridge.driverapi import ProbeResult, UsbId
from kkt_bridge.errors import (
    DeviceError,
    LinkClosedError,
    LinkTimeoutError,
    PortBusyError,
    ProtocolError,
)
from kkt_bridge.i18n import _
from kkt_bridge.link.urls import LinkKind, link_kind

from .driver import AtolKkt
from .exchange import AtolExchangeRules
from .models import model_name
from .transport import BYTE_TIMEOUT

#: raw v3 frames on the socket, port 5555 [C2]
TCP_PORT = 5555
#: no source fixes a speed; 115200 is the factory default of current models [?]
DEFAULT_BAUDRATE = 115200
#: how long a register may take to answer the first task of a connection
GREETING_TIMEOUT = 2.0


def open_port(url: str, *, baudrate: int | None, timeout: float = BYTE_TIMEOUT) -> Any:
    from kkt_bridge.link import open_link

    return open_link(url, baudrate=baudrate or DEFAULT_BAUDRATE, timeout=timeout,
                     default_port=TCP_PORT)


def held_elsewhere(url: str, exc: Exception) -> PortBusyError:
    """The single-connection rule (atol.md §1, [C]): a register serving another program
    accepts no second client, so silence or a closed link at the first task says that."""
    return PortBusyError(
        _("ККТ АТОЛ {url} не отвечает: вероятно, с ней уже работает другая программа "
          "({reason})").format(url=url, reason=getattr(exc, "message", exc)),
        _("ККТ АТОЛ обслуживает одно подключение: закройте кассовую программу или драйвер, "
          "работающие с ней, и повторите"))


class AtolDriver:
    name = "atol"
    title = "АТОЛ"
    # [?] 0x2912 comes from a third-party udev rule only, and the public USB list gives it
    # to another vendor (atol.md §1): a hint for discovery, which probes by protocol anyway
    usb_ids = (UsbId(0x2912, None, "АТОЛ (не подтверждено)"),)
    default_tcp_port: int | None = TCP_PORT
    # atol4j's order, fastest first [C]
    probe_speeds = (115200, 256000, 57600, 38400, 19200, 9600)
    emulator = "kkt_bridge.drivers.atol.emulator.frontend:FRONT_END"

    def probe(self, url: str, baudrate: int | None, timeout: float) -> ProbeResult | None:
        """An A5 task must come back as an ATOL answer; then 3F names the serial."""
        port = open_port(url, baudrate=baudrate)
        try:
            kkt = AtolKkt.on_port(port, poll_interval=timeout)
            try:
                kind = kkt.greet(timeout)
            except (LinkTimeoutError, ProtocolError, DeviceError, LinkClosedError):
                return None
            serial = ""
            with contextlib.suppress(DeviceError, LinkTimeoutError, ProtocolError):
                serial = str(kkt.state().serial)
            return ProbeResult(driver=self.name, url=url, baudrate=baudrate,
                               model=model_name(kind.model, kind.name), serial=serial)
        finally:
            port.close()

    def exchange_rules(self) -> AtolExchangeRules:
        """What one exchange is on this link, for the shared port (:mod:`.exchange`)."""
        return AtolExchangeRules()

    def open(self, url: str, *, baudrate: int | None = None, **options: Any) -> AtolKkt:
        """Open the register at ``url`` and greet it with A5; options: password,
        byte_timeout, poll_interval, resends, ack_add (C5, [?]: only for a register known
        to take it)."""
        byte_timeout = float(options.get("byte_timeout", BYTE_TIMEOUT))
        port = open_port(url, baudrate=baudrate, timeout=byte_timeout)
        try:
            kkt = AtolKkt.on_port(port, **options)
            try:
                kkt.greet(GREETING_TIMEOUT)
            except (LinkClosedError, LinkTimeoutError) as exc:
                if link_kind(url) is LinkKind.SOCKET:
                    raise held_elsewhere(url, exc) from exc
                raise  # a serial port held elsewhere is refused by the opener already
            return kkt
        except Exception:
            port.close()
            raise


driver = AtolDriver()

__all__ = ["TCP_PORT", "AtolDriver", "driver", "open_port"]

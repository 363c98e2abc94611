"""The Shtrih-M driver as the ``kkt_bridge.drivers`` entry point sees it: ``driver``."""

from __future__ import annotations

import contextlib
from typing import Any

from kkt_bridge.driverapi import ProbeResult, UsbId
from kkt_bridge.errors import DeviceError, LinkTimeoutError, ProtocolError

from .driver import ShtrihKkt, model_name
from .exchange import ShtrihExchangeRules
from .frame import ACK, NAK, TCP_PORT
from .transport import BYTE_TIMEOUT, Transport

DEFAULT_BAUDRATE = 115200
#: how many ENQ a probe sends before it gives up: a device busy printing may miss one
PROBE_ENQS = 2


def open_port(url: str, *, baudrate: int | None, timeout: float = BYTE_TIMEOUT) -> Any:
    """The one place the driver opens a link."""
    from kkt_bridge.link import open_link

    return open_link(url, baudrate=baudrate or DEFAULT_BAUDRATE, timeout=timeout,
                     default_port=TCP_PORT)


class ShtrihDriver:
    name = "shtrih"
    title = "Штрих-М"
    usb_ids = (
        UsbId(0x1FC9, 0x0083, "Штрих-М"),
        UsbId(0xABCD, 0x1980, "Штрих-М"),
        UsbId(0x04D9, 0xB534, "ШТРИХ-НАНО"),
    )
    default_tcp_port: int | None = TCP_PORT
    probe_speeds = (115200, 57600, 38400, 19200, 9600, 4800)
    #: a register at the speed asked answers ENQ with one byte within its byte time-out
    #: (50 ms, shtrih-m.md §1): twice that is the wait at the speeds tried after the usual
    #: one (kkt_bridge.link.discovery.attempts), where most of a silent port's time went
    probe_answer_time = 0.1
    #: the emulator front end (`kkt-bridge emulator`, see kkt_bridge.driverapi)
    emulator = "kkt_bridge.drivers.shtrih.emulator.frontend:FRONT_END"

    def probe(self, url: str, baudrate: int | None, timeout: float) -> ProbeResult | None:
        """ENQ must get ACK or NAK (stray 0xFF skipped); then 0xFC names the model and 0x11
        the serial. Missing, busy or forbidden ports raise their LinkError."""
        port = open_port(url, baudrate=baudrate)
        try:
            transport = Transport(port, control_timeout=timeout, attempts=3)
            reply = None
            for _enq in range(PROBE_ENQS):
                reply = transport.probe(timeout)
                if reply is not None:
                    break
            if reply not in (ACK, NAK):
                return None
            kkt = ShtrihKkt(transport)
            try:
                kind = kkt.device_type()
            except (LinkTimeoutError, ProtocolError, DeviceError):
                return None
            serial = ""
            with contextlib.suppress(DeviceError, LinkTimeoutError, ProtocolError):
                serial = str(kkt.full_status().serial)  # a wrong password still names the model
            return ProbeResult(driver=self.name, url=url, baudrate=baudrate,
                               model=model_name(kind.name), serial=serial)
        finally:
            port.close()

    def exchange_rules(self) -> ShtrihExchangeRules:
        """What one exchange is on this link, for the shared port (:mod:`.exchange`)."""
        return ShtrihExchangeRules()

    def open(self, url: str, *, baudrate: int | None = None, **options: Any) -> ShtrihKkt:
        """Open the register at ``url``; options: password, sysadmin_password,
        byte_timeout, control_timeout, attempts, blind (False: ENQ before every command)."""
        byte_timeout = float(options.get("byte_timeout", BYTE_TIMEOUT))
        port = open_port(url, baudrate=baudrate, timeout=byte_timeout)
        try:
            return ShtrihKkt.on_port(port, **options)
        except Exception:
            port.close()
            raise


driver = ShtrihDriver()

__all__ = ["ShtrihDriver", "driver", "open_port"]

"""The Shtrih-M front end of the emulation kit: what ``kkt-bridge emulator --driver shtrih``
and ``kkt_emulator_factory(driver="shtrih")`` build (registered as the driver's
``emulator``, see :mod:`kkt_bridge.driverapi`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kkt_bridge.drivers.shtrih.frame import TCP_PORT
from kkt_bridge.emulation.emulator import FrontEnd, link_choice, link_flag
from kkt_bridge.emulation.faults import FaultInjector
from kkt_bridge.emulation.lines import LineKind
from kkt_bridge.emulation.register import VirtualRegister

from .device import EmulatedDevice
from .link import FRAME_WHILE_HELD, DeviceLink


def make_register(**options: Any) -> EmulatedDevice:
    return EmulatedDevice(**options)


def make_link(register: VirtualRegister, faults: FaultInjector, kind: LineKind,
              options: Mapping[str, Any]) -> DeviceLink:
    """The handshake of one conversation. Over TCP a real register sends a stray 0xFF
    after the host's ACK (``stray_ff``, on by default); a serial line does not.
    ``frame_while_held`` (``take`` or ``ignore``): what a frame does while an answer is
    still held, which the reference leaves open (:data:`.link.FRAME_WHILE_HELD`)."""
    device: Any = register  # an EmulatedDevice, or a test's stand-in with ``handle``
    # both read whatever the line: the command line checks them on a pty link, and a typo
    # must not wait for the first TCP client to surface
    stray_ff = link_flag("stray_ff", options.get("stray_ff", True)) and kind == "tcp"
    held = link_choice("frame_while_held", options.get("frame_while_held", "take"),
                       FRAME_WHILE_HELD)
    return DeviceLink(device.handle, faults=faults, stray_ff=stray_ff,
                      power_cycle=getattr(device, "power_cycle", None),
                      frame_while_held=held)


FRONT_END = FrontEnd(name="shtrih", title="Штрих-М", default_tcp_port=TCP_PORT,
                     make_register=make_register, make_link=make_link,
                     link_option_names=frozenset({"stray_ff", "frame_while_held"}))

"""The Shtrih-M emulator as a Python object: :class:`kkt_bridge.emulation.Emulator` with
the Shtrih front end (start it in-process, drive it from tests, stop it)::

    with Emulator(pty=True, tcp=0, clock=ManualClock()) as emu:
        kkt = open_register(emu.pty_path)        # or emu.tcp_url
        emu.sell(...)                            # documents made through the protocol

``stray_ff`` (TCP only, on by default): the 0xFF a real network register sends after the
host's ACK.
"""

from __future__ import annotations

from typing import Any

from kkt_bridge.drivers.shtrih.frame import TCP_PORT
from kkt_bridge.emulation.emulator import Emulator as _Emulator
from kkt_bridge.emulation.emulator import parse_hostport as _parse_hostport

from .frontend import FRONT_END


class Emulator(_Emulator):
    """An emulated Shtrih-M register on a pseudo-terminal and/or a TCP port."""

    def __init__(self, **options: Any) -> None:
        super().__init__(FRONT_END, **options)


def parse_hostport(text: str) -> tuple[str, int]:
    """``host:port``, ``:port``, ``port`` or ``host`` (then port 7778); ``[::1]:7778``."""
    return _parse_hostport(text, TCP_PORT)

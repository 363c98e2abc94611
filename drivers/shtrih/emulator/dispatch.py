"""Which function answers which command: filled by the ``ops_*`` modules at import.

A handler gets the device and the request already parsed by the command's declaration, and
returns the whole answer body, built by the same declaration (``cmd.build_answer``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kkt_bridge.drivers.shtrih.commands import Command

if TYPE_CHECKING:
    from .core import DeviceCore

Handler = Callable[["DeviceCore", Command, Any], bytes]

HANDLERS: dict[int, Handler] = {}


def handles(*commands: Command) -> Callable[[Handler], Handler]:
    def register(function: Handler) -> Handler:
        for cmd in commands:
            if cmd.code in HANDLERS:
                raise RuntimeError(f"two emulator handlers for {cmd}")
            HANDLERS[cmd.code] = function
        return function
    return register

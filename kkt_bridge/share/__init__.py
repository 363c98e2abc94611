"""The shared port: unmodified cash software reaches the register through the bridge.

:class:`LinkOwner` holds a register's real link; :class:`SharedPort` offers a pty (and a TCP
port) whose exchanges are forwarded whole, in turns with the bridge's own work
(:class:`SharedKkt`). What one exchange is, each driver declares (:mod:`.rules`).
"""

from __future__ import annotations

from .owner import LinkOwner, SharedKkt
from .ports import SharedPort, SharedPortInfo
from .rules import Completed, ExchangeRules, ExchangeTracker

__all__ = ["Completed", "ExchangeRules", "ExchangeTracker", "LinkOwner", "SharedKkt",
           "SharedPort", "SharedPortInfo"]

"""Every ATOL command the driver and the emulator use, declared once (see :mod:`.base`).

Importing this package fills :data:`REGISTRY`; the emulator dispatches on it and the
property tests walk it.
"""

from __future__ import annotations

from . import fn, receipt, status
from .base import REGISTRY, AnswerKind, Command, command, lookup

__all__ = ["REGISTRY", "AnswerKind", "Command", "command", "fn", "lookup", "receipt", "status"]

"""Every Shtrih-M command, declared once (see :mod:`.base`).

Importing this package fills :data:`REGISTRY`; the emulator dispatches on it and the
property tests walk it.
"""

from __future__ import annotations

from importlib import import_module

from .base import REGISTRY, Command, command

# One module per family of commands; each declares its commands at import.
_FAMILIES = ("status", "tables", "shift", "fn", "receipt", "correction", "registration",
             "cash")

for _family in _FAMILIES:
    import_module(f"{__name__}.{_family}")


def by_code(code: int) -> Command | None:
    return REGISTRY.get(code)


__all__ = ["REGISTRY", "Command", "by_code", "command"]

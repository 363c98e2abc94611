"""Open a register by URL and driver name: what the CLI and the bridge call."""

from __future__ import annotations

from typing import Any

from kkt_bridge.driverapi import get_driver
from kkt_bridge.kkt import Kkt

DEFAULT_DRIVER = "shtrih"


def open_register(url: str, *, driver: str | None = None, baudrate: int | None = None,
                  **options: Any) -> Kkt:
    """The register at ``url`` through the named driver (Shtrih-M by default).

    Raises PluginError for an unknown driver and LinkError subclasses for a port that
    cannot be opened; the caller closes the returned register.
    """
    return get_driver(driver or DEFAULT_DRIVER).open(url, baudrate=baudrate, **options)

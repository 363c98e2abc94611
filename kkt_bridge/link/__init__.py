"""The link layer: bytes in, bytes out, timeouts, and errors that say what to do.

``open_link(url)`` opens any link a register can sit on, always through pyserial's
``serial_for_url`` (our ``usb://`` handler included). Discovery lists candidate ports
by USB id and lets each driver probe them. No vendor byte lives here.
"""

from __future__ import annotations

from kkt_bridge.link.discovery import (
    Candidate,
    Confidence,
    list_candidates,
    probe,
    probe_candidates,
)
from kkt_bridge.link.failures import (
    available_ports,
    link_timeout,
    not_a_register,
    port_busy,
    port_not_found,
    port_permission,
)
from kkt_bridge.link.holders import Holder, find_holders
from kkt_bridge.link.opener import open_link, register_handlers
from kkt_bridge.link.urls import LinkKind, has_speed, link_kind, with_default_port

register_handlers()

__all__ = [
    "Candidate",
    "Confidence",
    "Holder",
    "LinkKind",
    "available_ports",
    "find_holders",
    "has_speed",
    "link_kind",
    "link_timeout",
    "list_candidates",
    "not_a_register",
    "open_link",
    "port_busy",
    "port_not_found",
    "port_permission",
    "probe",
    "probe_candidates",
    "register_handlers",
    "with_default_port",
]

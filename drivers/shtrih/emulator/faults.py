"""Moved to :mod:`kkt_bridge.emulation.faults` (protocol-neutral); kept for existing imports."""

from kkt_bridge.emulation.faults import (
    BITS_PER_BYTE,
    DeviceFaults,
    FaultInjector,
    FaultSpec,
    parse_faults,
)

__all__ = ["BITS_PER_BYTE", "DeviceFaults", "FaultInjector", "FaultSpec", "parse_faults"]

"""Moved to :mod:`kkt_bridge.emulation.clock` (protocol-neutral); kept for existing imports."""

from kkt_bridge.emulation.clock import Clock, ManualClock, SystemClock

__all__ = ["Clock", "ManualClock", "SystemClock"]

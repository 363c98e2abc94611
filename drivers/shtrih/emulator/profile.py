"""Moved to :mod:`kkt_bridge.emulation.profile` (protocol-neutral); kept for existing imports."""

from kkt_bridge.emulation.profile import (
    DEMO_PROFILE,
    DEMO_SERIAL,
    Profile,
    crc16_ccitt,
    inn_is_valid,
    load_profile,
    rnm_is_valid,
    rnm_with_check,
)

__all__ = ["DEMO_PROFILE", "DEMO_SERIAL", "Profile", "crc16_ccitt", "inn_is_valid",
           "load_profile", "rnm_is_valid", "rnm_with_check"]

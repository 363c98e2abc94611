"""The pytest plugin that ``pip install kkt-bridge`` registers (entry point ``pytest11``).

Integrators get the ``kkt_emulator`` fixture (an emulated register on a real pty/TCP link);
back-office vendors get the contract-test fixtures that prove a plugin keeps the hookspecs.
"""

from __future__ import annotations

from kkt_bridge.testing.contract import *  # noqa: F403
from kkt_bridge.testing.emulator import *  # noqa: F403
from kkt_bridge.testing.postgres import *  # noqa: F403

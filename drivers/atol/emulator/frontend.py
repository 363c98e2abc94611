"""The ATOL front end of the emulation kit: what ``kkt-bridge emulator --driver atol`` and
``kkt_emulator_factory(driver="atol")`` build (the driver plugin's ``emulator``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from kkt_bridge.emulation.emulator import FrontEnd
from kkt_bridge.emulation.faults import FaultInjector
from kkt_bridge.emulation.lines import LineKind
from kkt_bridge.emulation.register import VirtualRegister

from .handlers import handle
from .link import AtolLink, LinkOptions
from .register import AtolRegister

#: raw v3 frames on the socket [C2]
TCP_PORT = 5555
LINK_OPTIONS = frozenset({"results", "abort_reply", "ack_reply", "accept_ack_add"})


def make_register(**options: Any) -> AtolRegister:
    return AtolRegister(**options)


def make_link(register: VirtualRegister, faults: FaultInjector, kind: LineKind,
              options: Mapping[str, Any]) -> AtolLink:
    """One conversation; ``options`` choose what the reference leaves open (§9)."""
    given = {k: v for k, v in options.items() if k in LINK_OPTIONS}
    text = {k: v for k, v in given.items() if isinstance(v, str)}  # from the command line
    typed = {k: v for k, v in given.items() if not isinstance(v, str)}
    chosen = replace(LinkOptions.parse(",".join(f"{k}={v}" for k, v in text.items())), **typed)
    atol: Any = register

    def run(task: bytes) -> tuple[bool, bytes]:
        return handle(atol, task, str(kind))

    return AtolLink(run, faults=faults, options=chosen, power_cycle=register.power_cycle)


FRONT_END = FrontEnd(name="atol", title="АТОЛ", default_tcp_port=TCP_PORT,
                     make_register=make_register, make_link=make_link,
                     link_option_names=LINK_OPTIONS)

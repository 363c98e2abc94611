"""One register, one serial number: the emulator's page, the register page and the documents.

The emulator's page («Эмулятор ККТ») shows the serial its control API reports (the
register's own); the register page shows what the bridge's driver reads over the protocol
(ATOL 3F: 8 BCD digits, Shtrih 0x11: a u32, both read as a number); the documents carry tag
1013. A new emulated register's serial is one all three show alike, on either protocol and
for a seed whose first drawn digit is a zero.
"""

from __future__ import annotations

import pytest

from kkt_bridge.driverapi import get_emulator
from kkt_bridge.emulation import Emulator
from kkt_bridge.emulation.control import run_action
from kkt_bridge.fiscal import decode_document
from kkt_bridge.registers import open_register
from kkt_bridge.web.emulatorpage import EmulatorState


@pytest.mark.parametrize("driver", ["shtrih", "atol"])
@pytest.mark.parametrize("seed", [None, 0, 2026])  # 0: the first digit drawn is a zero
def test_the_serial_is_the_same_on_both_pages_and_in_the_documents(driver: str,
                                                                   seed: int | None) -> None:
    with Emulator(get_emulator(driver), pty=False, tcp=0, seed=seed) as emu:
        emulator_page = EmulatorState.of(run_action(emu, "status", {})).serial
        assert emu.tcp_url is not None
        with open_register(emu.tcp_url, driver=driver) as kkt:  # type: ignore[attr-defined]
            register_page = kkt.identity().serial
        registration = decode_document(emu.archive()[0])
        in_documents = registration.kkt_serial  # type: ignore[attr-defined]
    assert emulator_page == register_page == in_documents, (
        emulator_page, register_page, in_documents)

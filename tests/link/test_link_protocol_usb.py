"""The usb:// handler against a scripted pyusb device (there is no hardware in CI)."""

from __future__ import annotations

import errno
import os
from collections import deque
from typing import Any

import pytest
import serial
import usb.core
from hypothesis import given
from hypothesis import strategies as st
from pytest_mock import MockerFixture

from kkt_bridge.errors import (
    ConfigError,
    LinkError,
    PortBusyError,
    PortNotFoundError,
    PortPermissionError,
)
from kkt_bridge.link import open_link
from kkt_bridge.link.handlers.protocol_usb import device_node, parse_usb_url
from kkt_bridge.link.holders import Holder

BULK, INTERRUPT = 0x02, 0x03


class FakeEndpoint:
    def __init__(self, address: int, attributes: int = BULK, packet: int = 64) -> None:
        self.bEndpointAddress = address
        self.bmAttributes = attributes
        self.wMaxPacketSize = packet
        self.incoming: deque[bytes | Exception] = deque()
        self.written = bytearray()
        self.write_limit: int | None = None  # bytes accepted per transfer
        self.write_error: Exception | None = None
        self.read_timeouts: list[int] = []

    def read(self, size: int, timeout: int) -> bytes:
        self.read_timeouts.append(timeout)
        if not self.incoming:
            raise usb.core.USBTimeoutError("timeout", errno=errno.ETIMEDOUT)
        item = self.incoming.popleft()
        if isinstance(item, Exception):
            raise item
        assert len(item) <= size
        return item

    def write(self, data: bytes, timeout: int) -> int:
        if self.write_error is not None:
            raise self.write_error
        chunk = bytes(data[: self.write_limit or len(data)])
        self.written += chunk
        return len(chunk)


class FakeInterface(list[FakeEndpoint]):
    def __init__(self, number: int, endpoints: list[FakeEndpoint]) -> None:
        super().__init__(endpoints)
        self.bInterfaceNumber = number
        self.bAlternateSetting = 0


class FakeDevice:
    def __init__(self, serial_number: str | None = "0042", *, kernel_driver: bool = False,
                 interfaces: list[FakeInterface] | None = None) -> None:
        self.idVendor, self.idProduct = 0x1FC9, 0x0083
        self.bus, self.address = 1, 7
        self._serial = serial_number
        self.ep_in = FakeEndpoint(0x81)
        self.ep_out = FakeEndpoint(0x01)
        self.config = interfaces if interfaces is not None else [
            FakeInterface(0, [FakeEndpoint(0x82, INTERRUPT)]),  # CDC notification only
            FakeInterface(1, [self.ep_out, self.ep_in]),
        ]
        self.configured = True
        self.kernel_driver = kernel_driver
        self.detached: list[int] = []
        self.attached: list[int] = []
        self.claim_error: Exception | None = None

    @property
    def serial_number(self) -> str | None:
        if self._serial == "EACCES":
            raise ValueError("The device has no langid (permission?)")
        return self._serial

    def get_active_configuration(self) -> list[FakeInterface]:
        if not self.configured:
            raise usb.core.USBError("not configured", errno=errno.EIO)
        return self.config

    def set_configuration(self) -> None:
        self.configured = True

    def is_kernel_driver_active(self, number: int) -> bool:
        return self.kernel_driver

    def detach_kernel_driver(self, number: int) -> None:
        self.detached.append(number)

    def attach_kernel_driver(self, number: int) -> None:
        self.attached.append(number)


@pytest.fixture
def usb_mock(mocker: MockerFixture) -> Any:
    """Patches pyusb; returns a namespace with ``devices`` (what find sees) and the mocks."""
    state = mocker.Mock()
    state.devices = [FakeDevice()]
    state.find = mocker.patch("usb.core.find", side_effect=lambda **kw: list(state.devices))

    def claim(dev: FakeDevice, number: int) -> None:
        if dev.claim_error is not None:
            raise dev.claim_error

    state.claim = mocker.patch("usb.util.claim_interface", side_effect=claim)
    state.release = mocker.patch("usb.util.release_interface")
    state.dispose = mocker.patch("usb.util.dispose_resources")
    return state


def test_parse_usb_url() -> None:
    assert parse_usb_url("usb://1FC9:0083") == (0x1FC9, 0x0083, None)
    assert parse_usb_url("usb://1fc9:83/AB12") == (0x1FC9, 0x0083, "AB12")
    assert parse_usb_url("usb://2912:0005/") == (0x2912, 0x0005, None)


@pytest.mark.parametrize("url", ["usb://", "usb://1FC9", "usb://XYZ:1", "usb://10000:1"])
def test_parse_usb_url_rejects(url: str) -> None:
    with pytest.raises(ConfigError):
        parse_usb_url(url)


@given(st.text(max_size=30))
def test_parse_usb_url_never_crashes(text: str) -> None:
    try:
        vid, pid, serial_number = parse_usb_url("usb://" + text)
    except ConfigError:
        return
    assert 0 <= vid <= 0xFFFF and 0 <= pid <= 0xFFFF
    assert serial_number is None or serial_number


def test_open_claims_bulk_interface_and_exchanges_bytes(usb_mock: Any) -> None:
    dev = usb_mock.devices[0]
    link = open_link("usb://1FC9:0083", timeout=0.2)
    assert isinstance(link, serial.SerialBase) and link.is_open
    usb_mock.claim.assert_called_once_with(dev, 1)
    assert link.write(b"\x02\x01\x10\x11") == 4
    assert bytes(dev.ep_out.written) == b"\x02\x01\x10\x11"
    dev.ep_in.incoming.extend([b"\x06\x02\x03", b"\x10\x00"])
    assert link.read(1) == b"\x06"
    assert link.in_waiting == 2  # the rest of the first packet stays buffered
    assert link.read(4) == b"\x02\x03\x10\x00"
    link.close()
    usb_mock.release.assert_called_once_with(dev, 1)
    usb_mock.dispose.assert_called_with(dev)
    assert not link.is_open


def test_read_times_out_with_what_arrived(usb_mock: Any) -> None:
    dev = usb_mock.devices[0]
    link = open_link("usb://1FC9:0083", timeout=0)
    dev.ep_in.incoming.append(b"\x06")
    assert link.read(3) == b"\x06"
    assert link.read(1) == b""
    assert all(t >= 1 for t in dev.ep_in.read_timeouts)  # never libusb's "wait forever"
    link.close()


def test_in_waiting_and_reset_input_buffer(usb_mock: Any) -> None:
    dev = usb_mock.devices[0]
    link = open_link("usb://1FC9:0083")
    assert link.in_waiting == 0
    dev.ep_in.incoming.extend([b"\xff", b"\x15\x15"])
    link.reset_input_buffer()
    assert link.in_waiting == 0 and not dev.ep_in.incoming
    link.reset_output_buffer()
    assert link.out_waiting == 0
    link.close()


def test_reset_input_buffer_is_bounded(usb_mock: Any) -> None:
    dev = usb_mock.devices[0]
    link = open_link("usb://1FC9:0083")
    dev.ep_in.incoming.extend([b"\x00"] * 200)  # a device that never stops talking
    link.reset_input_buffer()
    assert dev.ep_in.incoming  # gave up instead of looping forever
    link.close()


def test_write_in_pieces_and_write_errors(usb_mock: Any) -> None:
    dev = usb_mock.devices[0]
    link = open_link("usb://1FC9:0083")
    dev.ep_out.write_limit = 3
    assert link.write(b"abcdefg") == 7 and bytes(dev.ep_out.written) == b"abcdefg"
    dev.ep_out.write_error = usb.core.USBTimeoutError("t", errno=errno.ETIMEDOUT)
    with pytest.raises(serial.SerialTimeoutException):
        link.write(b"x")
    dev.ep_out.write_error = usb.core.USBError("gone", errno=errno.ENODEV)
    with pytest.raises(serial.SerialException):
        link.write(b"x")
    link.close()


def test_read_error_after_unplug(usb_mock: Any) -> None:
    dev = usb_mock.devices[0]
    link = open_link("usb://1FC9:0083", timeout=0.1)
    dev.ep_in.incoming.append(usb.core.USBError("No such device", errno=errno.ENODEV))
    with pytest.raises(serial.SerialException):
        link.read(1)
    link.close()


def test_closed_port_refuses_io(usb_mock: Any) -> None:
    link = open_link("usb://1FC9:0083")
    link.close()
    with pytest.raises(serial.PortNotOpenError):
        link.read(1)
    with pytest.raises(serial.PortNotOpenError):
        link.write(b"x")
    link.close()  # closing twice is harmless


def test_serial_number_selects_device(usb_mock: Any) -> None:
    other = FakeDevice("0099")
    usb_mock.devices.append(other)
    link = open_link("usb://1FC9:0083/0099")
    usb_mock.claim.assert_called_once_with(other, 1)
    link.close()


def test_several_devices_without_serial_asks_for_one(usb_mock: Any) -> None:
    usb_mock.devices.append(FakeDevice("0099"))
    with pytest.raises(ConfigError) as info:
        open_link("usb://1FC9:0083")
    assert "usb://1FC9:0083/0042" in (info.value.hint or "")
    assert "usb://1FC9:0083/0099" in (info.value.hint or "")


def test_unreadable_serial_does_not_match(usb_mock: Any) -> None:
    usb_mock.devices[:] = [FakeDevice("EACCES")]
    with pytest.raises(PortNotFoundError):
        open_link("usb://1FC9:0083/0042")


def test_kernel_driver_detached_and_given_back(usb_mock: Any) -> None:
    dev = FakeDevice(kernel_driver=True)
    usb_mock.devices[:] = [dev]
    link = open_link("usb://1FC9:0083")
    assert dev.detached == [1]
    link.close()
    assert dev.attached == [1]


def test_unconfigured_device_gets_configured(usb_mock: Any) -> None:
    dev = usb_mock.devices[0]
    dev.configured = False
    open_link("usb://1FC9:0083").close()
    assert dev.configured


def test_device_without_bulk_pair_is_refused(usb_mock: Any) -> None:
    usb_mock.devices[:] = [FakeDevice(interfaces=[
        FakeInterface(0, [FakeEndpoint(0x81), FakeEndpoint(0x82, INTERRUPT)])])]
    with pytest.raises(LinkError, match="bulk"):
        open_link("usb://1FC9:0083")
    usb_mock.dispose.assert_called()


def test_claimed_elsewhere_is_busy(usb_mock: Any, mocker: MockerFixture) -> None:
    dev = usb_mock.devices[0]
    dev.claim_error = usb.core.USBError("Resource busy", errno=errno.EBUSY)
    find = mocker.patch("kkt_bridge.link.failures.find_holders",
                        return_value=[Holder(4321, "kassa")])
    with pytest.raises(PortBusyError) as info:
        open_link("usb://1FC9:0083")
    assert info.value.pid == 4321 and "4321" in info.value.message
    find.assert_called_once_with(device_node(dev), exclude_pid=os.getpid())
    assert device_node(dev) == "/dev/bus/usb/001/007"


def test_no_permission_on_usb_node(usb_mock: Any) -> None:
    usb_mock.devices[0].claim_error = usb.core.USBError("Access denied", errno=errno.EACCES)
    with pytest.raises(PortPermissionError) as info:
        open_link("usb://1FC9:0083")
    assert "install-udev" in (info.value.hint or "")


def test_unplugged_while_opening(usb_mock: Any) -> None:
    usb_mock.devices[0].claim_error = usb.core.USBError("No device", errno=errno.ENODEV)
    with pytest.raises(PortNotFoundError, match="отключилось"):
        open_link("usb://1FC9:0083")


def test_no_libusb(mocker: MockerFixture) -> None:
    mocker.patch("usb.core.find", side_effect=usb.core.NoBackendError("No backend"))
    with pytest.raises(LinkError, match="libusb"):
        open_link("usb://1FC9:0083")

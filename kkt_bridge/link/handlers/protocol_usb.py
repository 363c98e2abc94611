"""``usb://VID:PID[/serial]``: a register without a CDC driver, through its bulk endpoints.

A pyserial handler (class :class:`Serial`), so ``serial_for_url`` and every driver treat
it like any other port. Line settings (speed, parity) mean nothing on bulk endpoints and
are accepted and ignored, as pyserial's ``socket://`` handler does.
"""

from __future__ import annotations

import errno
from collections.abc import Iterable
from typing import Any

import usb.core
import usb.util
from serial.serialutil import (
    PortNotOpenError,
    SerialBase,
    SerialException,
    SerialTimeoutException,
    Timeout,
)

from kkt_bridge.errors import ConfigError, LinkError, PortNotFoundError
from kkt_bridge.i18n import _
from kkt_bridge.link.failures import port_busy, port_permission

#: a bounded drain: a device that streams forever must not hang reset_input_buffer
_MAX_DRAIN_PACKETS = 64
#: a read that should not wait (in_waiting, drain), in milliseconds; libusb's 0 means forever
_POLL_MS = 1


def parse_usb_url(url: str) -> tuple[int, int, str | None]:
    """``usb://1FC9:0083/ABC123`` -> (0x1FC9, 0x0083, "ABC123")."""
    body = url.split("://", 1)[1] if "://" in url else url
    ids, _sep, serial_number = body.partition("/")
    vid_text, colon, pid_text = ids.partition(":")
    try:
        if not colon:
            raise ValueError(ids)
        vid, pid = int(vid_text, 16), int(pid_text, 16)
        if not (0 <= vid <= 0xFFFF and 0 <= pid <= 0xFFFF):
            raise ValueError(ids)
    except ValueError:
        raise ConfigError(_("адрес {url} не распознан").format(url=url),
                          _("формат: usb://VID:PID или usb://VID:PID/серийный_номер, "
                            "например usb://1FC9:0083")) from None
    return vid, pid, serial_number.strip("/") or None


def device_node(dev: Any) -> str:
    """The usbfs node of ``dev``: what a process holding it has open."""
    return f"/dev/bus/usb/{int(dev.bus):03d}/{int(dev.address):03d}"


def serial_number_of(dev: Any) -> str | None:
    try:
        value = dev.serial_number
    except (usb.core.USBError, ValueError, NotImplementedError):
        return None  # no permission to read strings, or no serial descriptor
    return str(value) if value else None


def _is_timeout(exc: usb.core.USBError) -> bool:
    return isinstance(exc, usb.core.USBTimeoutError) or exc.errno == errno.ETIMEDOUT


def _wait_ms(deadline: Timeout) -> int:
    """libusb's timeout for the rest of ``deadline``; 0 is libusb's "wait forever"."""
    if deadline.is_infinite:
        return 0
    return max(_POLL_MS, int(deadline.time_left() * 1000))


def _bulk_pair(cfg: Iterable[Any]) -> tuple[Any, Any, Any]:
    """The first interface with a bulk IN and a bulk OUT endpoint, and those endpoints."""
    for intf in cfg:
        ep_in = ep_out = None
        for ep in intf:
            if usb.util.endpoint_type(ep.bmAttributes) != usb.util.ENDPOINT_TYPE_BULK:
                continue
            if usb.util.endpoint_direction(ep.bEndpointAddress) == usb.util.ENDPOINT_IN:
                ep_in = ep_in or ep
            else:
                ep_out = ep_out or ep
        if ep_in is not None and ep_out is not None:
            return intf, ep_in, ep_out
    raise LinkError(_("у устройства USB нет пары bulk-точек для обмена"),
                    _("это не ККТ или она работает через CDC: используйте /dev/ttyACM*"))


class Serial(SerialBase):
    """pyserial port over a pyusb bulk IN/OUT endpoint pair."""

    is_open: bool

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._dev: Any = None
        self._intf_number: int | None = None
        self._detached = False
        self._ep_in: Any = None
        self._ep_out: Any = None
        self._buffer = bytearray()
        super().__init__(*args, **kwargs)

    # --- opening --------------------------------------------------------------------------

    def open(self) -> None:
        if self._port is None:
            raise SerialException("Port must be configured before it can be used.")
        if self.is_open:
            raise SerialException("Port is already open.")
        vid, pid, wanted_serial = parse_usb_url(self.portstr)
        dev = self._find(vid, pid, wanted_serial)
        try:
            self._claim(dev)
        except BaseException:
            usb.util.dispose_resources(dev)
            raise
        self._dev = dev
        self._buffer.clear()
        self.is_open = True

    def _find(self, vid: int, pid: int, wanted_serial: str | None) -> Any:
        url = self.portstr
        try:
            found = list(usb.core.find(find_all=True, idVendor=vid, idProduct=pid) or [])
        except usb.core.NoBackendError:
            raise LinkError(_("не найдена библиотека libusb для доступа к {url}").format(
                url=url), _("установите libusb: sudo apt install libusb-1.0-0")) from None
        if wanted_serial is not None:
            found = [d for d in found if serial_number_of(d) == wanted_serial]
        if not found:
            raise PortNotFoundError(_("устройство USB {url} не найдено").format(url=url),
                                    _("подключите ККТ и проверьте кабель; lsusb покажет "
                                      "подключённые устройства"))
        if len(found) > 1 and wanted_serial is None:
            urls = ", ".join(f"usb://{vid:04X}:{pid:04X}/{serial_number_of(d) or '?'}"
                             for d in found)
            raise ConfigError(_("подключено несколько устройств {url}").format(url=url),
                              _("укажите серийный номер: {urls}").format(urls=urls))
        return found[0]

    def _claim(self, dev: Any) -> None:
        try:
            try:
                cfg = dev.get_active_configuration()
            except usb.core.USBError as exc:
                if exc.errno in (errno.EACCES, errno.EPERM, errno.EBUSY):
                    raise
                dev.set_configuration()  # unconfigured: take the first configuration
                cfg = dev.get_active_configuration()
            intf, ep_in, ep_out = _bulk_pair(cfg)
            number = int(intf.bInterfaceNumber)
            try:
                if dev.is_kernel_driver_active(number):
                    dev.detach_kernel_driver(number)
                    self._detached = True
            except NotImplementedError:
                pass  # backends without kernel drivers (Windows, BSD)
            usb.util.claim_interface(dev, number)
        except usb.core.USBError as exc:
            node = device_node(dev)
            if exc.errno in (errno.EACCES, errno.EPERM):
                raise port_permission(self.portstr, node) from exc
            if exc.errno == errno.EBUSY:
                raise port_busy(self.portstr, node) from exc
            if exc.errno in (errno.ENODEV, errno.ENOENT):
                raise PortNotFoundError(
                    _("устройство USB {url} отключилось").format(url=self.portstr),
                    _("подключите ККТ снова")) from exc
            raise LinkError(_("не удалось открыть {url}: {reason}").format(
                url=self.portstr, reason=exc), _("переподключите ККТ и повторите")) from exc
        self._intf_number = number
        self._ep_in, self._ep_out = ep_in, ep_out

    def close(self) -> None:
        dev, self._dev = self._dev, None
        self.is_open = False
        if dev is None:
            return
        try:
            if self._intf_number is not None:
                usb.util.release_interface(dev, self._intf_number)
                if self._detached:
                    dev.attach_kernel_driver(self._intf_number)
        except (usb.core.USBError, NotImplementedError):
            pass  # unplugged already: nothing left to give back
        finally:
            self._detached = False
            self._intf_number = None
            usb.util.dispose_resources(dev)

    def from_url(self, url: str) -> str:
        parse_usb_url(url)
        return url

    def _reconfigure_port(self, *args: Any, **kwargs: Any) -> None:
        """Bulk endpoints carry no line settings; speed and parity are ignored."""

    # --- data -----------------------------------------------------------------------------

    def _pull(self, timeout_ms: int) -> bool:
        """Read one transfer into the buffer; False when nothing came in ``timeout_ms``."""
        size = max(int(getattr(self._ep_in, "wMaxPacketSize", 64) or 64), 64)
        try:
            data = self._ep_in.read(size, timeout_ms)
        except usb.core.USBError as exc:
            if _is_timeout(exc):
                return False
            raise SerialException(f"read failed: {exc}") from exc
        if not data:
            return False
        self._buffer += bytes(data)
        return True

    @property
    def in_waiting(self) -> int:
        if not self.is_open:
            raise PortNotOpenError()
        if not self._buffer:
            self._pull(_POLL_MS)
        return len(self._buffer)

    def read(self, size: int = 1) -> bytes:
        if not self.is_open:
            raise PortNotOpenError()
        deadline = Timeout(self._timeout)
        while len(self._buffer) < size:
            self._pull(_wait_ms(deadline))
            if deadline.expired():
                break
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def write(self, data: bytes | bytearray | memoryview) -> int:
        if not self.is_open:
            raise PortNotOpenError()
        payload = bytes(data)
        deadline = Timeout(self._write_timeout)
        sent = 0
        while sent < len(payload):
            try:
                sent += int(self._ep_out.write(payload[sent:], _wait_ms(deadline)))
            except usb.core.USBError as exc:
                if _is_timeout(exc):
                    raise SerialTimeoutException("Write timeout") from exc
                raise SerialException(f"write failed: {exc}") from exc
            if sent < len(payload) and deadline.expired():
                raise SerialTimeoutException("Write timeout")
        return sent

    def flush(self) -> None:
        """Bulk OUT transfers are complete when write returns."""

    def reset_input_buffer(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()
        self._buffer.clear()
        for _i in range(_MAX_DRAIN_PACKETS):
            if not self._pull(_POLL_MS):
                break
        self._buffer.clear()

    def reset_output_buffer(self) -> None:
        if not self.is_open:
            raise PortNotOpenError()

    @property
    def out_waiting(self) -> int:
        return 0

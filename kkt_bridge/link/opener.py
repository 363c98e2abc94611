"""``open_link``: every way to reach a register, through pyserial's ``serial_for_url``.

Device paths, pseudo-terminals, ``socket://``, ``rfc2217://`` and ``loop://`` are pyserial's
own handlers; ``usb://VID:PID[/serial]`` is ours (:mod:`kkt_bridge.link.handlers`),
registered in ``serial.protocol_handler_packages`` so it takes the same road.
"""

from __future__ import annotations

import os
import socket

import serial

from kkt_bridge.errors import ConfigError, KktBridgeError
from kkt_bridge.i18n import _
from kkt_bridge.link.failures import translate_open_error
from kkt_bridge.link.urls import LinkKind, link_kind, scheme, with_default_port

HANDLER_PACKAGE = "kkt_bridge.link.handlers"


def register_handlers() -> None:
    """Let ``serial.serial_for_url`` find our ``usb://`` handler (idempotent)."""
    if HANDLER_PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(HANDLER_PACKAGE)


def open_link(url: str, *, baudrate: int = 115200, timeout: float = 0.05,
              default_port: int | None = None) -> serial.SerialBase:
    """Open ``url`` 8N1 without flow control; the caller closes it.

    ``timeout`` is the read timeout in seconds (the protocol's byte timeout);
    ``default_port`` (the driver's) completes ``socket://host``. Failures raise
    LinkError subclasses naming what to do; a malformed URL raises ConfigError.
    """
    register_handlers()
    url = url.strip()
    if not url:
        raise ConfigError(_("не указан порт ККТ"),
                          _("укажите --device, например /dev/ttyACM0 или socket://10.0.0.5"))
    target = with_default_port(url, default_port)
    kind = link_kind(target)
    options: dict[str, object] = {
        "baudrate": baudrate, "timeout": timeout, "write_timeout": max(timeout, 1.0),
        "bytesize": serial.EIGHTBITS, "parity": serial.PARITY_NONE,
        "stopbits": serial.STOPBITS_ONE, "xonxoff": False, "rtscts": False,
    }
    if kind is LinkKind.RFC2217:
        # pyserial's rfc2217 client refuses any write timeout (NotImplementedError)
        del options["write_timeout"]
    if kind is LinkKind.DEVICE and os.name == "posix":
        # a second program on the same port garbles both conversations: refuse instead
        options["exclusive"] = True
    try:
        port = serial.serial_for_url(target, **options)
    except KktBridgeError:
        raise
    except ValueError as exc:
        # pyserial's reason is English whatever the UI says: ours names what is wrong
        name = scheme(url)
        reason = (_("схема {scheme}:// неизвестна").format(scheme=name)
                  if name and "not known" in str(exc) else _("запись не похожа на адрес порта"))
        raise ConfigError(_("адрес {url} не распознан: {reason}").format(url=url, reason=reason),
                          _("примеры: /dev/ttyACM0, COM3, socket://10.0.0.5:7778, "
                            "rfc2217://host:port, usb://1FC9:0083")) from None
    except (serial.SerialException, OSError) as exc:
        raise translate_open_error(target, exc, default_port) from None
    if kind is LinkKind.SOCKET:
        _no_delay(port)
    return port


def _no_delay(port: serial.SerialBase) -> None:
    """Send each small frame at once: without TCP_NODELAY the kernel holds an ENQ back until
    the peer's delayed ACK (about 40 ms per command), and pyserial does not set it."""
    sock = getattr(port, "_socket", None)
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

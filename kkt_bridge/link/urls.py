"""What kind of link a URL names, and the small rewrites done before pyserial sees it.

pyserial's ``socket://`` handler insists on a port; registers have a well-known one
(7778 for Shtrih-M), so ``socket://10.0.0.5`` is completed here with the driver's default.
"""

from __future__ import annotations

import enum
from urllib.parse import urlsplit

from kkt_bridge.errors import ConfigError
from kkt_bridge.i18n import _


class LinkKind(enum.Enum):
    DEVICE = "device"  # /dev/ttyACM0, COM3, a pty slave, /dev/kkt/shtrih-123
    SOCKET = "socket"  # socket://host:port, raw TCP
    RFC2217 = "rfc2217"  # a serial port served over telnet with line settings
    LOOP = "loop"  # loop://, pyserial's echo link
    USB = "usb"  # usb://VID:PID[/serial], bulk endpoints through pyusb
    OTHER = "other"  # any other pyserial URL handler (spy://, hwgrep://, ...)


def scheme(url: str) -> str | None:
    if "://" not in url:
        return None
    return url.split("://", 1)[0].lower()


def link_kind(url: str) -> LinkKind:
    name = scheme(url)
    if name is None:
        return LinkKind.DEVICE
    try:
        return LinkKind(name)
    except ValueError:
        return LinkKind.OTHER


def has_speed(url: str) -> bool:
    """Whether the serial speed means anything on this link (not over TCP or USB bulk)."""
    return link_kind(url) in (LinkKind.DEVICE, LinkKind.RFC2217)


def network_address(url: str) -> tuple[str, int | None]:
    """(host, port) of a socket:// or rfc2217:// URL; port None when the URL has none."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # a port out of range, or a half-bracketed IPv6 host
        raise ConfigError(_("адрес {url} записан неверно").format(url=url),
                          _("пример: socket://10.0.0.5:7778 (порт от 1 до 65535)")
                          ) from None
    return parts.hostname or "", port


def with_default_port(url: str, default_port: int | None) -> str:
    """``socket://host`` -> ``socket://host:<default_port>``; other URLs unchanged."""
    if link_kind(url) not in (LinkKind.SOCKET, LinkKind.RFC2217):
        return url
    host, port = network_address(url)
    if not host:
        raise ConfigError(_("в адресе {url} не указан хост").format(url=url),
                          _("пример: socket://10.0.0.5:7778"))
    if port is not None:
        return url
    if default_port is None:
        raise ConfigError(_("в адресе {url} не указан порт").format(url=url),
                          _("пример: socket://10.0.0.5:7778"))
    prefix, rest = url.split("://", 1)
    netloc, sep, tail = rest.partition("/")
    return f"{prefix}://{netloc}:{default_port}{sep}{tail}"

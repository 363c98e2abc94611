"""One rule for secrets inside URLs: the user info of a URL (``https://user:password@host``)
is never shown or logged. Error messages, status output and the log filter of
:mod:`kkt_bridge.logs` all go through here."""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

# scheme://userinfo@ : the user info ends at the last "@" before the path, and holds no
# "/", "?", "#" or white space (RFC 3986 3.2.1); a password may contain "@" only encoded
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s@\"'<>]*@")


def redact_url(url: str) -> str:
    """``url`` with its user info (name and password) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not a URL at all: fall back on the text rule
        return redact_urls(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{MASK}@{host}"))


def redact_urls(text: str) -> str:
    """Every URL's user info in free ``text`` replaced by ``***``."""
    return _USERINFO.sub(lambda m: f"{m.group(1)}{MASK}@", text)

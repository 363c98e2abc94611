"""One log format for every kkt-bridge process: text for people, JSON lines for machines.

Secrets never reach a log: :class:`RedactingFilter` masks bearer tokens, ``token=...``
pairs, the user info of URLs (:mod:`kkt_bridge.redaction`) and every value registered with
:func:`register_secret` (the daemon registers the tokens it loads), in the message and in
the formatted traceback alike.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TextIO

from kkt_bridge.redaction import redact_urls

LOGGER_NAME = "kkt_bridge"
MASK = "***"

_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)((?:access_)?token[\"']?\s*[:=]\s*[\"']?)[^\s\"',}&]+"),
    re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)[^\"',}]+"),
)

_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Mask this exact value wherever it appears in a log record from now on."""
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with every token pattern, URL user info and registered secret masked."""
    text = redact_urls(text)
    for pattern in _PATTERNS:
        text = pattern.sub(lambda m: m.group(1) + MASK, text)
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line; extra fields given via ``extra={"register": ...}`` kept."""

    _STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in self._STANDARD and not key.startswith("_"):
                payload[key] = value if isinstance(value, str | int | float | bool) else str(value)
        if record.exc_text:
            payload["traceback"] = record.exc_text
        return json.dumps(payload, ensure_ascii=False)


TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def _remove_own_handlers(logger: logging.Logger) -> None:
    # only ours: a handler an embedding application or pytest added stays
    for handler in list(logger.handlers):
        if getattr(handler, "_kkt_bridge", False):
            logger.removeHandler(handler)


def configure_logging(fmt: str = "text", level: str | int = "INFO",
                      stream: TextIO | None = None) -> logging.Logger:
    """Set up the ``kkt_bridge`` logger once per process (idempotent)."""
    logger = logging.getLogger(LOGGER_NAME)
    _remove_own_handlers(logger)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler._kkt_bridge = True  # type: ignore[attr-defined]
    handler.addFilter(RedactingFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    logger.addHandler(handler)
    logger.setLevel(level.upper() if isinstance(level, str) else level)
    logger.propagate = False
    return logger


FORMATS = ("text", "json")
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
#: what a command without ``--log-format``/``--log-level`` uses (``kkt-bridge run`` overrides)
FORMAT_ENV = "KKT_BRIDGE_LOG_FORMAT"
LEVEL_ENV = "KKT_BRIDGE_LOG_LEVEL"


def configure_from_env(default_level: str = "WARNING") -> logging.Logger:
    """The same format for every command: ``KKT_BRIDGE_LOG_FORMAT`` / ``_LEVEL``, where a
    value that makes no sense falls back to the default rather than stopping the command."""
    fmt = os.environ.get(FORMAT_ENV, "text").lower()
    level = os.environ.get(LEVEL_ENV, default_level).upper()
    return configure_logging(fmt if fmt in FORMATS else "text",
                             level if level in LEVELS else default_level)


def unconfigure_logging() -> None:
    """Undo :func:`configure_logging` (a command run in-process, as tests do, must not
    leave a handler on a stream that is closed afterwards)."""
    logger = logging.getLogger(LOGGER_NAME)
    _remove_own_handlers(logger)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


@contextmanager
def logging_configured(fmt: str = "text", level: str | int = "INFO",
                       stream: TextIO | None = None) -> Iterator[logging.Logger]:
    """:func:`configure_logging` for the length of a ``with`` block."""
    try:
        yield configure_logging(fmt, level, stream)
    finally:
        unconfigure_logging()

"""Back-office answers read within bounds: a size cap while the body streams in, and a depth
cap on the JSON, so that a hostile or broken server costs a bounded amount of memory and
gets a back-office error, never a plugin crash.

:func:`fetch` sends a request through an :class:`httpx.Client` and reads at most
``max_bytes`` of a successful answer (an error answer is read up to :data:`ERROR_BYTES` and
cut there: its text is only a hint); :func:`loads` parses JSON no deeper than ``max_depth``.
Both raise :class:`~kkt_bridge.errors.BackOfficeError`; network failures stay httpx's own
exceptions, which the plugins map as before.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from kkt_bridge.errors import BackOfficeError, BackOfficeUnavailableError
from kkt_bridge.i18n import _

#: a whole catalog of a big shop fits many times over; 300 MB does not get in
MAX_BYTES = 32 * 1024 * 1024
#: an error answer is read this far for its message (МойСклад answers a refused array
#: with one error per element: 1,000 of them fit), the rest is dropped
ERROR_BYTES = 1024 * 1024
#: no back-office API nests this deep; 100,000 levels would take Python's stack
MAX_DEPTH = 64


def _retry_later() -> str:
    return _("обмен повторится при следующей попытке; если это повторяется, сообщите в "
             "поддержку бэк-офиса")


def read_body(response: httpx.Response, limit: int) -> bytes | None:
    """The body of a streamed ``response``, or None as soon as it is longer than ``limit``
    (by its Content-Length, or by what arrived)."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def fetch(client: httpx.Client, method: str, url: str, *, where: str,
          max_bytes: int = MAX_BYTES, **kwargs: Any) -> tuple[httpx.Response, bytes]:
    """Send a request and read its answer within bounds: (the closed response, its body).

    ``where`` names the request in messages (already free of secrets: see
    :func:`kkt_bridge.redaction.redact_url`)."""
    request = client.build_request(method, url, **kwargs)
    response = client.send(request, stream=True)
    try:
        body = read_body(response, max_bytes if response.is_success else ERROR_BYTES)
    finally:
        response.close()
    if body is None:
        if response.is_success:
            raise BackOfficeError(
                _("ответ бэк-офиса {where} больше {mb} МБ: не прочитан").format(
                    where=where, mb=max_bytes // (1024 * 1024)),
                _retry_later(), retryable=True)
        body = b""
    return response, body


def loads(body: bytes, *, where: str, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value in ``body``; BackOfficeError when it is not JSON or nests deeper
    than ``max_depth``."""
    try:
        value = json.loads(body)
    except RecursionError:
        value, deep = None, True
    except ValueError:
        # a proxy's error page or a cut answer: usually gone by the next attempt
        raise BackOfficeUnavailableError(
            _("бэк-офис {where} ответил не JSON").format(where=where), _retry_later()) from None
    else:
        deep = depth(value, max_depth) > max_depth
    if deep:
        raise BackOfficeError(
            _("ответ бэк-офиса {where} вложен глубже {n} уровней: не принят").format(
                where=where, n=max_depth),
            _retry_later(), retryable=True)
    return value


def depth(value: Any, stop: int) -> int:
    """How deep lists and objects nest in ``value`` (a scalar is 0), counted without
    recursion and no further than ``stop + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        if deepest > stop:
            return deepest
        stack.extend((child, level + 1) for child in children
                     if isinstance(child, dict | list))
    return deepest

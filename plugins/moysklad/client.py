"""A small synchronous client of the MoySklad JSON API 1.2 that keeps the API's rules.

Rules kept here (md/_general.md, md/_restrictions.md of moysklad/api-remap-1.2-doc):
``Authorization: Bearer``; ``Accept-Encoding: gzip`` on every request (415 without it);
lists paged by ``limit`` <= 1000 and ``offset``; arrays of at most 1000 elements and bodies
under 20 MB; 45 units per 3 s and 5 parallel requests (:mod:`.ratelimit`); 429 answered by
waiting ``X-Lognex-Retry-After`` milliseconds, a bounded number of times.

The token lives only in the ``Authorization`` header of the httpx client: it is never put
into a URL, a log record or an exception message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import httpx

from kkt_bridge.errors import (
    AuthenticationError,
    BackOfficeError,
    BackOfficeUnavailableError,
    RateLimitedError,
)
from kkt_bridge.httpjson import fetch, loads
from kkt_bridge.i18n import _
from kkt_bridge.plugins.moysklad.ratelimit import RateLimiter
from kkt_bridge.redaction import redact_url

log = logging.getLogger(__name__)

DEFAULT_ENDPOINT = "https://api.moysklad.ru/api/remap/1.2/"
PAGE_LIMIT = 1000
MAX_ARRAY = 1000
#: the API takes up to 20 MB; stay below it so headers and rounding never tip us over
MAX_BODY_BYTES = 19 * 1024 * 1024
#: MoySklad gives a bulk request up to 5 minutes before it fails it; wait a little longer
DEFAULT_TIMEOUT = httpx.Timeout(30.0, read=330.0)
#: fallback when a 429 carries no X-Lognex-Retry-After
DEFAULT_RETRY_AFTER = 3.0

JSON = dict[str, Any]


class RequestRefusedError(BackOfficeError):
    """A 4xx answer; keeps the status and the body (per-element errors of an array)."""

    def __init__(self, message: str, hint: str | None = None, *, status: int = 0,
                 payload: Any = None) -> None:
        super().__init__(message, hint)
        self.status = status
        self.payload = payload


def _errors_text(payload: Any) -> str:
    """The server's own error texts (``errors[].error``): they hold no secret."""
    if isinstance(payload, dict) and isinstance(payload.get("errors"), list):
        texts = [str(e.get("error", "")) for e in payload["errors"] if isinstance(e, dict)]
        return "; ".join(t for t in texts if t)
    return ""


def retry_after_seconds(response: httpx.Response) -> float:
    """X-Lognex-Retry-After is in milliseconds (md/_general.md, «Обработка ошибок»)."""
    for header in ("X-Lognex-Retry-After", "X-Lognex-Reset"):
        raw = response.headers.get(header)
        if raw:
            try:
                value = float(raw) / 1000.0
            except ValueError:
                continue
            if value > 0:
                return value
    raw = response.headers.get("Retry-After")
    if raw:
        try:
            return max(float(raw), 0.0)
        except ValueError:
            pass
    return DEFAULT_RETRY_AFTER


def split_for_post(items: Sequence[Any]) -> Iterator[list[Any]]:
    """Chunks of at most 1000 elements whose JSON stays under the body limit."""
    chunk: list[Any] = []
    size = 2
    for item in items:
        item_size = len(json.dumps(item, ensure_ascii=False).encode()) + 1
        if chunk and (len(chunk) >= MAX_ARRAY or size + item_size > MAX_BODY_BYTES):
            yield chunk
            chunk, size = [], 2
        chunk.append(item)
        size += item_size
    if chunk:
        yield chunk


class MoySkladClient:
    """One account's connection: a keep-alive httpx client, the limiter, retries on 429."""

    def __init__(self, token: str, *, endpoint: str = DEFAULT_ENDPOINT,
                 transport: httpx.BaseTransport | None = None,
                 limiter: RateLimiter | None = None, max_retries: int = 3,
                 timeout: httpx.Timeout | float = DEFAULT_TIMEOUT) -> None:
        if not endpoint.endswith("/"):
            endpoint += "/"
        self.endpoint = endpoint
        self.limiter = limiter or RateLimiter()
        self.max_retries = max_retries
        self.requests_sent = 0
        self._http = httpx.Client(
            base_url=endpoint,
            transport=transport,
            timeout=timeout,
            verify=True,
            headers={
                "Authorization": f"Bearer {token}",
                # only gzip: the API refuses other encodings, even listed next to gzip
                "Accept-Encoding": "gzip",
                "Accept": "application/json;charset=utf-8",
                "User-Agent": "kkt-bridge",
            },
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MoySkladClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests ------------------------------------------------------------------------

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
                body: Any = None) -> Any:
        """Send one request; wait and retry on 429; map failures to kkt_bridge errors."""
        content = None
        headers = {}
        if body is not None:
            content = json.dumps(body, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
            if isinstance(body, list) and len(body) > MAX_ARRAY:
                raise ValueError("more than 1000 elements in one request")
            if len(content) > MAX_BODY_BYTES:
                raise ValueError("request body over the size limit")
        retry_after = DEFAULT_RETRY_AFTER
        where = redact_url(self.endpoint + path.lstrip("/"))
        for _attempt in range(self.max_retries + 1):
            with self.limiter.slot():
                self.requests_sent += 1
                try:
                    # read within bounds: a 300 MB or 100,000-deep answer is an error
                    response, answer = fetch(self._http, method, path, where=where,
                                             params=params, content=content, headers=headers)
                except httpx.TimeoutException as exc:
                    raise BackOfficeUnavailableError(
                        _("МойСклад не ответил вовремя"),
                        _("Проверьте подключение к интернету; обмен повторится сам"),
                    ) from exc
                except httpx.TransportError as exc:
                    raise BackOfficeUnavailableError(
                        _("Нет связи с МойСклад"),
                        _("Проверьте подключение к интернету; обмен повторится сам"),
                    ) from exc
            if response.status_code != 429:
                return self._result(response, answer, where)
            retry_after = retry_after_seconds(response)
            log.info("MoySklad 429 on %s %s, waiting %.3f s", method, path, retry_after)
            self.limiter.pause_until(self.limiter.clock() + retry_after)
        raise RateLimitedError(
            _("МойСклад ограничил частоту запросов"),
            _("Обмен повторится автоматически позже"),
            retry_after=retry_after,
        )

    def _result(self, response: httpx.Response, body: bytes, where: str) -> Any:
        status = response.status_code
        if status < 300:
            return loads(body, where=where) if body else None
        try:
            payload: Any = loads(body, where=where) if body else None
        except BackOfficeError:
            payload = None  # an error answer's body only adds detail
        server_text = _errors_text(payload)
        if status == 401:
            raise AuthenticationError(
                _("МойСклад не принял токен доступа"),
                _("Подключите ККТ заново с новым токеном (МойСклад: Настройки -> Токены)"),
            )
        if status == 403:
            raise AuthenticationError(
                _("У пользователя МойСклад нет прав на эту операцию") +
                (f": {server_text}" if server_text else ""),
                _("Попросите администратора аккаунта выдать права или доступ к API"),
            )
        if status >= 500:
            raise BackOfficeUnavailableError(
                _("МойСклад временно недоступен") + f" (HTTP {status})",
                _("Обмен повторится автоматически"),
            )
        raise RequestRefusedError(
            _("МойСклад отклонил запрос") + f" (HTTP {status})" +
            (f": {server_text}" if server_text else ""),
            _("Проверьте настройки точки продаж в МойСклад"),
            status=status, payload=payload,
        )

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        return self.request("POST", path, body=body)

    def put(self, path: str, body: Any) -> Any:
        return self.request("PUT", path, body=body)

    def post_many(self, path: str, items: Sequence[JSON]) -> list[Any]:
        """POST arrays of at most 1000 elements; one answer element per item, in order.

        A failing element comes back as ``{"errors": [...]}`` in its place; a whole chunk
        refused with 4xx and no per-element answer becomes that error for each element.
        """
        answers: list[Any] = []
        for chunk in split_for_post(items):
            try:
                result = self.post(path, chunk)
            except RequestRefusedError as exc:
                if isinstance(exc.payload, list) and len(exc.payload) == len(chunk):
                    answers.extend(exc.payload)
                    continue
                raise
            if not isinstance(result, list) or len(result) != len(chunk):
                raise BackOfficeError(
                    _("МойСклад ответил на пакет неожиданно"),
                    _("Обмен повторится автоматически"), retryable=True,
                )
            answers.extend(result)
        return answers

    def iter_rows(self, path: str, params: Mapping[str, Any] | None = None,
                  *, limit: int = PAGE_LIMIT) -> Iterator[JSON]:
        """All rows of a list, page by page: ``limit`` <= 1000, ``offset`` from meta."""
        limit = max(1, min(limit, PAGE_LIMIT))
        offset = 0
        query = dict(params or {})
        # bounded: a list longer than 10 million rows is not a shop's catalog
        for _page in range(10_000):
            query.update(limit=limit, offset=offset)
            payload = self.get(path, query)
            rows = payload.get("rows", []) if isinstance(payload, dict) else []
            yield from rows
            meta = payload.get("meta", {}) if isinstance(payload, dict) else {}
            size = int(meta.get("size", 0) or 0)
            offset += len(rows)
            if not rows or offset >= size:
                return
        raise BackOfficeError(_("Слишком длинный список в МойСклад"))  # pragma: no cover

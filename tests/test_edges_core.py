"""Core helpers at the edges: URL user info redacted everywhere, bounded JSON answers (the
reference and МойСклад clients both read through :mod:`kkt_bridge.httpjson`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from kkt_bridge import httpjson
from kkt_bridge.errors import BackOfficeError, BackOfficeUnavailableError
from kkt_bridge.logs import RedactingFilter, redact
from kkt_bridge.plugins.moysklad.client import MoySkladClient
from kkt_bridge.redaction import redact_url, redact_urls


@pytest.mark.parametrize(("url", "shown"), [
    ("https://user:secret@host:8080/api?x=1", "https://***@host:8080/api?x=1"),
    ("http://secret@host/", "http://***@host/"),
    ("http://host:8080/api", "http://host:8080/api"),
    ("socket://10.0.0.5:7778", "socket://10.0.0.5:7778"),
    ("no url at all", "no url at all"),
    ("http://[::1", "http://[::1"),  # not parseable: the text rule still applies
])
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_urls_in_free_text() -> None:
    text = "бэк-офис https://shop:pa55@bo.example/api/v1/pair (HTTP 500); и ftp://a:b@c"
    assert redact_urls(text) == "бэк-офис https://***@bo.example/api/v1/pair (HTTP 500); и ftp://***@c"
    assert redact_urls("mail me: user@example.com") == "mail me: user@example.com"


def test_the_log_filter_hides_a_password_in_a_url() -> None:
    record = logging.makeLogRecord({"msg": "%s failed: %s", "args": (
        "documents", "нет связи с бэк-офисом http://u:pa55@127.0.0.1:9/api/v1/documents")})
    RedactingFilter().filter(record)
    assert "pa55" not in record.getMessage() and "http://***@127.0.0.1:9" in record.getMessage()
    assert "pa55" not in redact("http://u:pa55@h")


@pytest.mark.parametrize(("value", "expected"), [
    (1, 0), ([], 1), ({"a": [1, {"b": []}]}, 4), ([[[[]]], []], 4),
])
def test_depth(value: object, expected: int) -> None:
    assert httpjson.depth(value, 64) == expected


def test_loads_refuses_what_is_not_json_or_too_deep() -> None:
    assert httpjson.loads(b'{"a": [1]}', where="x") == {"a": [1]}
    with pytest.raises(BackOfficeUnavailableError):
        httpjson.loads(b"<html>", where="x")
    with pytest.raises(BackOfficeError, match="глубже 3"):
        httpjson.loads(b"[[[[1]]]]", where="x", max_depth=3)
    assert httpjson.loads(b"[[[1]]]", where="x", max_depth=3) == [[[1]]]


def _streamed(size: int, taken: list[int]) -> httpx.MockTransport:
    def body() -> Iterator[bytes]:
        for _ in range(size // 65536):
            taken.append(65536)
            yield b"[" * 65536

    return httpx.MockTransport(lambda request: httpx.Response(200, content=body()))


def test_fetch_stops_reading_at_the_cap() -> None:
    taken: list[int] = []
    with httpx.Client(transport=_streamed(10 * 1024 * 1024, taken)) as client, \
            pytest.raises(BackOfficeError, match="больше 1 МБ"):
        httpjson.fetch(client, "GET", "http://x/", where="http://x/", max_bytes=1024 * 1024)
    assert sum(taken) <= 1024 * 1024 + 65536


def test_an_error_answer_is_cut_not_refused() -> None:
    body = b"e" * (httpjson.ERROR_BYTES + 1)
    transport = httpx.MockTransport(lambda request: httpx.Response(500, content=body))
    with httpx.Client(transport=transport) as client:
        response, body = httpjson.fetch(client, "GET", "http://x/", where="x")
    assert response.status_code == 500 and body == b""


@pytest.mark.parametrize("body", [b"[" * 100_000 + b"]" * 100_000, b"x" * 100])
def test_moysklad_reads_within_bounds(body: bytes) -> None:
    client = MoySkladClient("t0ken", transport=httpx.MockTransport(
        lambda request: httpx.Response(200, content=body)))
    with pytest.raises(BackOfficeError):
        client.get("entity/product")


def test_moysklad_refuses_a_huge_answer() -> None:
    taken: list[int] = []
    client = MoySkladClient("t0ken", transport=_streamed(300 * 1024 * 1024, taken))
    with pytest.raises(BackOfficeError, match="МБ"):
        client.get("entity/product")
    assert sum(taken) <= httpjson.MAX_BYTES + 65536

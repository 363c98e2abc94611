"""The reference plugin at its edges: acknowledgements it must not believe, answers too big or
too deep, a URL that is not the API, a password in the URL, and the user's language."""

from __future__ import annotations

import json
import re
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest
from test_reference_plugin import CREDS, ENDPOINT, NAME, REGISTER, plugin_with

from kkt_bridge import httpjson
from kkt_bridge.errors import (
    AcknowledgementError,
    BackOfficeError,
    ConfigError,
    PairingError,
    PluginError,
)
from kkt_bridge.exchange import Credentials
from kkt_bridge.i18n import set_language
from kkt_bridge.pluginmanager import call_backoffice, get_plugin_manager
from kkt_bridge.testing.contract import sample_documents

CYRILLIC = re.compile(r"[\u0400-\u04ff]")


@pytest.fixture
def english() -> Iterator[None]:
    set_language("en")
    try:
        yield
    finally:
        set_language("ru")


def acks_with(**changes: object):  # type: ignore[no-untyped-def]
    def handle(request: httpx.Request) -> httpx.Response:
        batch = json.loads(request.content)
        acks = [{"key": d["key"], "accepted": True, "duplicate": False, "error": None}
                for d in batch]
        acks[-1].update(changes)
        return httpx.Response(200, json={"acks": acks})
    return handle


@pytest.mark.parametrize("changes", [
    {"accepted": "false"}, {"accepted": "true"}, {"accepted": 1}, {"accepted": None},
    {"duplicate": "false"}, {"key": "9999:999"}, {"error": {"text": "x"}},
], ids=lambda c: json.dumps(c))
def test_acknowledgements_are_typed(changes: dict[str, object]) -> None:
    plugin = plugin_with(acks_with(**changes))
    with pytest.raises(AcknowledgementError):
        plugin.backoffice_export_documents(NAME, CREDS, sample_documents(REGISTER, 3))


def test_a_string_false_never_reads_as_accepted_through_the_bridge() -> None:
    pm = get_plugin_manager(load_entrypoints=False,
                            plugins=[plugin_with(acks_with(accepted="false"))])
    with pytest.raises(AcknowledgementError) as info:
        call_backoffice(pm, "backoffice_export_documents", backoffice=NAME, credentials=CREDS,
                        documents=sample_documents(REGISTER, 2))
    assert info.value.retryable


def _huge(chunks: list[int], *, declared: bool) -> httpx.MockTransport:
    """A 300 MB answer, made up as it is read (``chunks`` counts what was taken)."""
    size, chunk = 300 * 1024 * 1024, b" " * (1024 * 1024)

    def body() -> Iterator[bytes]:
        for _ in range(size // len(chunk)):
            chunks.append(len(chunk))
            yield chunk

    def handle(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Length": str(size)} if declared else {}
        return httpx.Response(200, content=body(), headers=headers)
    return httpx.MockTransport(handle)


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_300_mb_answer_is_refused_without_taking_the_memory(declared: bool) -> None:
    taken: list[int] = []
    plugin = httpx_plugin(_huge(taken, declared=declared))
    tracemalloc.start()
    try:
        with pytest.raises(BackOfficeError, match="МБ"):
            plugin.backoffice_fetch_employees(NAME, CREDS)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert sum(taken) <= httpjson.MAX_BYTES + 1024 * 1024
    assert peak < 3 * httpjson.MAX_BYTES
    if declared:
        assert sum(taken) == 0  # refused by its Content-Length, before any byte


def httpx_plugin(transport: httpx.MockTransport):  # type: ignore[no-untyped-def]
    from kkt_bridge.plugins.reference.plugin import ReferencePlugin
    return ReferencePlugin(transport=transport)


def _nested(levels: int) -> list[object]:
    value: list[object] = []
    for _ in range(levels - 1):
        value = [value]
    return value


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    json.dumps({"employees": _nested(70)}).encode(),
], ids=["array", "object", "seventy"])
def test_deep_json_is_a_back_office_error_not_a_plugin_crash(body: bytes) -> None:
    plugin = plugin_with(lambda request: httpx.Response(200, content=body))
    pm = get_plugin_manager(load_entrypoints=False, plugins=[plugin])
    with pytest.raises(BackOfficeError, match="глубже") as info:
        call_backoffice(pm, "backoffice_fetch_employees", backoffice=NAME, credentials=CREDS)
    assert not isinstance(info.value, PluginError)


@pytest.mark.parametrize("body", [b"Not Found", b"<html>404</html>", b'{"detail": "x"}'])
def test_a_wrong_path_says_so_instead_of_code_not_found(body: bytes) -> None:
    plugin = plugin_with(lambda request: httpx.Response(404, content=body))
    with pytest.raises(BackOfficeError) as info:
        plugin.backoffice_pair(NAME, ENDPOINT + "/shop", "1234-5678", REGISTER)
    assert not isinstance(info.value, PairingError)
    assert "нет API" in info.value.message and "/shop/api/v1/pair" in info.value.message


def test_the_apis_own_code_not_found_is_still_a_pairing_error() -> None:
    plugin = plugin_with(lambda request: httpx.Response(
        404, json={"error": {"code": "sync_code_not_found", "message": "нет"}}))
    with pytest.raises(PairingError, match="не найден"):
        plugin.backoffice_pair(NAME, ENDPOINT, "1234-5678", REGISTER)


@pytest.mark.parametrize("status", [404, 500, 400])
def test_a_password_in_the_url_is_never_shown(status: int) -> None:
    secret = "pa55-w0rd"
    creds = Credentials(backoffice=NAME, endpoint=f"http://shop:{secret}@backoffice.test",
                        token="t0ken-value")
    plugin = plugin_with(lambda request: httpx.Response(status, content=b"x"))
    pm = get_plugin_manager(load_entrypoints=False, plugins=[plugin])
    with pytest.raises(BackOfficeError) as info:
        call_backoffice(pm, "backoffice_check", backoffice=NAME, credentials=creds)
    text = f"{info.value} {info.value.hint}"
    assert secret not in text and "shop:" not in text and "***@backoffice.test" in text
    assert secret not in str(creds.redacted())


def test_a_password_in_a_malformed_url_is_never_shown() -> None:
    plugin = plugin_with(lambda request: httpx.Response(200))
    with pytest.raises(ConfigError) as info:
        plugin.backoffice_pair(NAME, "ftp://shop:pa55@host", "1", REGISTER)
    assert "pa55" not in str(info.value)


def test_messages_and_the_server_follow_the_language(english: None) -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Accept-Language"])
        return httpx.Response(404, json={"error": {"code": "sync_code_used", "message": "x"}})
    with pytest.raises(PairingError) as info:
        plugin_with(handle).backoffice_pair(NAME, ENDPOINT, "1", REGISTER)
    assert seen == ["en"]
    assert not CYRILLIC.search(f"{info.value.message} {info.value.hint}")
    with pytest.raises(BackOfficeError) as down:
        plugin_with(lambda r: httpx.Response(503)).backoffice_check(NAME, CREDS)
    assert not CYRILLIC.search(str(down.value))

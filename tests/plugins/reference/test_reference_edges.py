"""The reference back office held to its own contract at the edges: what schemathesis and
hand probes found (NaN, lone surrogates, 2^63, deep JSON, 100 MB bodies, slow clients,
plain-text 404/405, no Content-Type check), and the request's language."""

from __future__ import annotations

import base64
import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from reference_support import SHOP, pair, register_identity, register_json

from kkt_bridge.errors import AuthenticationError
from kkt_bridge.exchange import Credentials
from kkt_bridge.i18n import set_language
from kkt_bridge.plugins.reference import app as app_module
from kkt_bridge.plugins.reference.app import OPENAPI_PATH, ReferenceApi, openapi_text
from kkt_bridge.plugins.reference.plugin import NAME, ReferencePlugin
from kkt_bridge.plugins.reference.server import BoundedH11Protocol, ReferenceBackOffice
from kkt_bridge.testing.contract import sample_receipt

FN1 = register_identity(1).fn_number
BIG = 2**63


def doc(fd: int = 1, **changes: Any) -> dict[str, Any]:
    d = sample_receipt(FN1, fd)
    return {"key": d.key, "fn_number": d.fn_number, "fd_number": d.fd_number,
            "document_type": d.document_type, "fns": dict(d.fns),
            "raw_b64": base64.b64encode(d.raw).decode(), **changes}


def post_json(http: httpx.Client, path: str, text: str | bytes,
              headers: dict[str, str] | None = None) -> httpx.Response:
    return http.post(path, content=text, headers={"Content-Type": "application/json",
                                                  **(headers or {})})


def is_error_body(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"code", "message"} and error["message"]
    return dict(error)


def test_the_committed_openapi_is_what_the_code_generates() -> None:
    assert OPENAPI_PATH.read_text(encoding="utf-8") == openapi_text(), \
        "openapi.json is stale: run kkt-bridge backoffice openapi --write"


def test_nan_infinity_and_lone_surrogates_are_refused_and_never_stored(
        http: httpx.Client, office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    good = json.dumps([doc(1)])
    for bad in (good.replace('"totalSum":', '"x": NaN, "totalSum":'),
                good.replace('"totalSum":', '"x": -Infinity, "totalSum":'),
                good.replace('"totalSum":', '"x": "\\ud800", "totalSum":'),
                good.replace('"totalSum":', '"\\udc00": 1, "totalSum":')):
        is_error_body(post_json(http, "/api/v1/documents", bad, auth), 400)
    # a number too big for a float parses as infinity: it is refused before it is stored
    overflow = good.replace('"totalSum":', '"x": [-1E400], "totalSum":')
    is_error_body(post_json(http, "/api/v1/documents", overflow, auth), 422)
    assert office.count_documents() == 0
    assert post_json(http, "/api/v1/documents", good, auth).status_code == 200
    listed = http.get("/api/v1/documents", headers=auth)
    assert listed.status_code == 200 and len(listed.json()["documents"]) == 1
    pairing = json.dumps({"code": "1234-5678", "register": register_json(2)})
    lone = pairing.replace('"model": "', '"model": "\\ud800')
    is_error_body(post_json(http, "/api/v1/pair", lone), 400)


def test_integers_past_64_bits_are_422(http: httpx.Client, office: ReferenceBackOffice) -> None:
    auth = pair(http, office)
    for bad in (doc(1, fd_number=BIG, key=f"{FN1}:{BIG}"), doc(1, document_type=BIG)):
        is_error_body(http.post("/api/v1/documents", headers=auth, json=[bad]), 422)
    for path in (f"/api/v1/documents?after={BIG}", f"/api/v1/documents/{FN1}/{BIG}",
                 "/api/v1/documents?after=-1", "/api/v1/documents?limit=0",
                 "/api/v1/catalog?since="):
        is_error_body(http.get(path, headers=auth), 422)
    admin = {"Authorization": f"Bearer {office.admin_token}"}
    is_error_body(http.post(f"/api/v1/admin/registers/{BIG}/revoke", headers=admin), 422)
    # fns is the register's own JSON: a big number in it is stored and given back as is
    big_inside = doc(1, fns={**doc(1)["fns"], "x": BIG})
    assert http.post("/api/v1/documents", headers=auth, json=[big_inside]).status_code == 200
    assert http.get("/api/v1/documents", headers=auth).json()["documents"][0]["fns"]["x"] == BIG


def test_deep_json_is_400_before_any_login(http: httpx.Client,
                                           office: ReferenceBackOffice) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    is_error_body(post_json(http, "/api/v1/pair", deep), 400)
    nested = b'{"code":"1","register":' + b'{"a":' * 300 + b"1" + b"}" * 301
    assert is_error_body(post_json(http, "/api/v1/pair", nested), 400)["code"] == "too_deep"


def test_a_failed_pairing_does_not_use_up_the_code(http: httpx.Client,
                                                   office: ReferenceBackOffice) -> None:
    code = office.issue_sync_code(SHOP)
    for bad in ({"serial": "\x00", "fn_number": "1", "model": "m"},
                {**register_json(1), "inn": "x" * 65}, {**register_json(1), "serial": " "}):
        is_error_body(http.post("/api/v1/pair", json={"code": code, "register": bad}), 422)
    ok = http.post("/api/v1/pair", json={"code": code, "register": {**register_json(1),
                                                                     "inn": ""}})
    assert ok.status_code == 200, ok.text


def test_unknown_paths_and_methods_are_json_with_allow(http: httpx.Client) -> None:
    is_error_body(http.get("/api/v1/nothing"), 404)
    wrong = http.delete("/api/v1/documents")
    is_error_body(wrong, 405)
    assert {"GET", "POST"} <= {m.strip() for m in wrong.headers["Allow"].split(",")}
    assert http.put("/api/v1/pair").headers["Allow"] == "POST"


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_bodies_must_say_they_are_json(http: httpx.Client, office: ReferenceBackOffice,
                                       content_type: str | None) -> None:
    auth = pair(http, office)
    headers = {**auth, **({"Content-Type": content_type} if content_type else {})}
    body = json.dumps([doc(1)]).encode()
    is_error_body(http.post("/api/v1/documents", headers=headers, content=body), 415)
    assert office.count_documents() == 0


def test_messages_follow_accept_language(http: httpx.Client, office: ReferenceBackOffice) -> None:
    body = {"code": "0000-0000", "register": register_json(1)}
    russian = is_error_body(http.post("/api/v1/pair", json=body), 404)
    english = is_error_body(http.post("/api/v1/pair", json=body,
                                      headers={"Accept-Language": "en-GB,en;q=0.9,ru;q=0.5"}),
                            404)
    assert russian["message"].startswith("код синхронизации не найден")
    assert english["message"].startswith("sync code not found")
    french = http.post("/api/v1/pair", json=body, headers={"Accept-Language": "fr"})
    assert french.json()["error"]["message"] == russian["message"]


def test_the_plugin_shows_the_servers_message_in_the_bridges_language(
        office: ReferenceBackOffice) -> None:
    plugin = ReferencePlugin()
    assert office.url is not None
    stale = Credentials(backoffice=NAME, endpoint=office.url, token="revoked")
    try:
        set_language("en")
        with pytest.raises(AuthenticationError) as refused:
            plugin.backoffice_check(NAME, stale)
        assert "token not accepted" in refused.value.message
    finally:
        set_language("ru")
        plugin.close()


# --- bounded connections (raw sockets: httpx would not misbehave on purpose) ---------------


@pytest.fixture
def small_office(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[tuple[ReferenceBackOffice, tuple[str, int]]]:
    """A back office with a 1 MB body cap and short deadlines, so the tests stay short."""
    monkeypatch.setattr(BoundedH11Protocol, "header_timeout", 0.5)
    monkeypatch.setattr(app_module, "BODY_CHUNK_TIMEOUT", 0.5)
    office = ReferenceBackOffice(tmp_path / "bo.sqlite3")
    office.api = ReferenceApi(office.db, max_body=1024 * 1024)
    url = urlsplit(office.serve_in_thread())
    try:
        yield office, (url.hostname or "", url.port or 0)
    finally:
        office.stop()


def _closed_within(sock: socket.socket, seconds: float) -> bytes | None:
    """What the server sent before closing, or None if it is still open after ``seconds``."""
    sock.settimeout(0.1)
    received = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
    return None


def test_a_100_mb_chunked_body_is_refused_while_it_streams(
        small_office: tuple[ReferenceBackOffice, tuple[str, int]]) -> None:
    office, address = small_office
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"POST /api/v1/documents HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"[" + b" " * 0xFFFF + b"\r\n"
        sent, answer = 0, b""
        for _ in range(1600):  # 100 MB, unless the server answers first
            readable, _w, _x = select.select([sock], [], [], 0)
            if readable:
                answer = sock.recv(4096)
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer += _closed_within(sock, 5) or b""
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 8 * 1024 * 1024  # refused near the 1 MB cap, not after 100 MB
    assert office.count_documents() == 0


def test_a_declared_oversize_body_is_refused_before_it_is_sent(
        small_office: tuple[ReferenceBackOffice, tuple[str, int]]) -> None:
    _office, address = small_office
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"POST /api/v1/pair HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nContent-Length: 104857600\r\n\r\n")
        answer = _closed_within(sock, 5)
    assert answer is not None and answer.startswith(b"HTTP/1.1 413")


@pytest.mark.parametrize("behaviour", ["silent", "slowloris", "slow-body"])
def test_idle_and_slow_connections_are_closed(
        small_office: tuple[ReferenceBackOffice, tuple[str, int]], behaviour: str) -> None:
    _office, address = small_office
    with socket.create_connection(address, timeout=10) as sock:
        if behaviour == "slowloris":
            sock.sendall(b"GET /api/v1/health HTTP/1.1\r\n")
            try:
                for _ in range(10):  # a header line every 0.3 s: never complete in time
                    time.sleep(0.3)
                    sock.sendall(b"X-a: b\r\n")
            except (BrokenPipeError, ConnectionResetError):
                return  # closed while dripping: what the deadline is for
        elif behaviour == "slow-body":
            sock.sendall(b"POST /api/v1/pair HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
        answer = _closed_within(sock, 5)
    assert answer is not None, f"{behaviour}: still open"
    if behaviour == "slow-body":
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_allow_names_only_methods_that_answer(http: httpx.Client) -> None:
    refused = http.request("HEAD", "/api/v1/health")
    assert refused.status_code == 405
    for method in refused.headers["Allow"].split(", "):
        assert http.request(method, "/api/v1/health").status_code == 200


def test_integers_in_paths_and_queries_are_plain_decimal(http: httpx.Client,
                                                         office: ReferenceBackOffice) -> None:
    """Schemathesis found "+0.0" taken for 0; the description says integer."""
    auth = pair(http, office)
    for path in ("/api/v1/documents?after=%2B0.0", "/api/v1/documents?after=1.0",
                 "/api/v1/documents?limit=%201", f"/api/v1/documents/{FN1}/1.0",
                 "/api/v1/documents?after=%D9%A1"):
        is_error_body(http.get(path, headers=auth), 422)
    assert http.get("/api/v1/documents?after=0&limit=5", headers=auth).status_code == 200
    assert http.get(f"/api/v1/documents/{FN1}/7", headers=auth).status_code == 404

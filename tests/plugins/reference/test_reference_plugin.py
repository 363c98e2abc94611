"""The ``reference`` plugin: HTTP answers mapped to kkt_bridge errors (with an injected
transport), batching, and the real server's injected faults."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from reference_support import SHOP, register_identity

from kkt_bridge.errors import (
    AuthenticationError,
    BackOfficeError,
    BackOfficeUnavailableError,
    ConfigError,
    PairingError,
    RateLimitedError,
)
from kkt_bridge.exchange import Credentials
from kkt_bridge.plugins.reference.plugin import NAME, ReferencePlugin
from kkt_bridge.plugins.reference.server import ReferenceBackOffice
from kkt_bridge.testing.contract import sample_documents

ENDPOINT = "http://backoffice.test"
CREDS = Credentials(backoffice=NAME, endpoint=ENDPOINT, token="secret-token-123")
REGISTER = register_identity(1)

Handler = Callable[[httpx.Request], httpx.Response]


def plugin_with(handler: Handler, **options: Any) -> ReferencePlugin:
    return ReferencePlugin(transport=httpx.MockTransport(handler), **options)


def error(status: int, code: str = "x", headers: dict[str, str] | None = None) -> Handler:
    def handle(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": {"code": code, "message": "нет"}},
                              headers=headers)
    return handle


def acks_for(request: httpx.Request) -> httpx.Response:
    batch = json.loads(request.content)
    return httpx.Response(200, json={"acks": [
        {"key": d["key"], "accepted": True, "duplicate": False, "error": None} for d in batch]})


# --- error mapping -------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "status", "phrase"), [
    ("sync_code_not_found", 404, "не найден"),
    ("sync_code_expired", 410, "истёк"),
    ("sync_code_used", 409, "уже использован"),
    ("", 404, "не найден или устарел"),  # a server that sends no error code
])
def test_refused_codes_are_pairing_errors(code: str, status: int, phrase: str) -> None:
    plugin = plugin_with(error(status, code))
    with pytest.raises(PairingError) as info:
        plugin.backoffice_pair(NAME, ENDPOINT, "1234-5678", REGISTER)
    assert phrase in info.value.message and "Добавить ККТ" in (info.value.hint or "")
    assert not info.value.retryable


@pytest.mark.parametrize("status", [401, 403])
def test_refused_token_is_authentication_error_without_the_token(status: int) -> None:
    plugin = plugin_with(error(status))
    with pytest.raises(AuthenticationError) as info:
        plugin.backoffice_check(NAME, CREDS)
    assert CREDS.token not in f"{info.value} {info.value.hint}"


def test_429_carries_retry_after_seconds_and_http_dates() -> None:
    plugin = plugin_with(error(429, headers={"Retry-After": "7"}))
    with pytest.raises(RateLimitedError) as info:
        plugin.backoffice_fetch_employees(NAME, CREDS)
    assert info.value.retryable and info.value.retry_after == 7
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    plugin = plugin_with(error(429, headers={"Retry-After": later}))
    with pytest.raises(RateLimitedError) as info:
        plugin.backoffice_fetch_employees(NAME, CREDS)
    assert info.value.retry_after is not None and 60 < info.value.retry_after <= 120


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_server_errors_are_retryable(status: int) -> None:
    plugin = plugin_with(error(status, headers={"Retry-After": "3"}))
    with pytest.raises(BackOfficeUnavailableError) as info:
        plugin.backoffice_fetch_catalog(NAME, CREDS, None)
    assert info.value.retryable and info.value.retry_after == 3


def test_other_client_errors_are_not_retryable() -> None:
    plugin = plugin_with(error(400))
    with pytest.raises(BackOfficeError) as info:
        plugin.backoffice_fetch_catalog(NAME, CREDS, None)
    assert not info.value.retryable and "HTTP 400" in info.value.message


@pytest.mark.parametrize("exc", [httpx.ConnectError("refused"), httpx.ReadTimeout("slow"),
                                 httpx.RemoteProtocolError("dropped")])
def test_transport_failures_are_retryable(exc: Exception) -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise exc

    with pytest.raises(BackOfficeUnavailableError) as info:
        plugin_with(handle).backoffice_check(NAME, CREDS)
    assert info.value.retryable


def test_answers_that_are_not_json_or_malformed_are_errors() -> None:
    not_json = plugin_with(lambda r: httpx.Response(200, content=b"<html>"))
    with pytest.raises(BackOfficeUnavailableError):
        not_json.backoffice_fetch_employees(NAME, CREDS)
    bad_price = plugin_with(lambda r: httpx.Response(200, json={
        "complete": True, "as_of": None, "groups": [],
        "goods": [{"id": "1", "name": "x", "price": 89.9}]}))
    with pytest.raises(BackOfficeError, match="копейки"):
        bad_price.backoffice_fetch_catalog(NAME, CREDS, None)
    wrong_acks = plugin_with(lambda r: httpx.Response(200, json={"acks": []}))
    with pytest.raises(BackOfficeError):
        wrong_acks.backoffice_export_documents(NAME, CREDS, sample_documents(REGISTER, 2))


def test_other_backoffices_are_ignored() -> None:
    plugin = plugin_with(error(500))
    assert plugin.backoffice_pair("moysklad", ENDPOINT, "1", REGISTER) is None
    assert plugin.backoffice_export_documents("moysklad", CREDS, []) is None


def test_endpoint_is_required_and_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KKT_BRIDGE_REFERENCE_URL", raising=False)
    plugin = plugin_with(acks_for)
    with pytest.raises(ConfigError):
        plugin.backoffice_pair(NAME, None, "1", REGISTER)
    with pytest.raises(ConfigError):
        plugin.backoffice_pair(NAME, "ftp://x", "1", REGISTER)
    with pytest.raises(ConfigError):
        ReferencePlugin(batch_size=0)
    with pytest.raises(ConfigError):
        ReferencePlugin(in_flight=0)


def test_requests_carry_the_bearer_token_and_since() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"complete": False, "as_of": None, "groups": [],
                                         "goods": []})

    since = datetime(2026, 11, 24, 9, 0)  # naive: taken as UTC
    plugin_with(handle).backoffice_fetch_catalog(NAME, CREDS, since)
    assert seen[0].headers["Authorization"] == f"Bearer {CREDS.token}"
    assert seen[0].url.path == "/api/v1/catalog"
    assert seen[0].url.params["since"] == "2026-11-24T09:00:00+00:00"


# --- batching ------------------------------------------------------------------------------


def test_export_is_split_into_batches_and_acked_in_order() -> None:
    sizes: list[int] = []

    def handle(request: httpx.Request) -> httpx.Response:
        sizes.append(len(json.loads(request.content)))
        return acks_for(request)

    docs = sample_documents(REGISTER, 17)
    acks = plugin_with(handle, batch_size=7).backoffice_export_documents(NAME, CREDS, docs)
    assert sizes == [7, 7, 3]
    assert acks is not None and [a.key for a in acks] == [d.key for d in docs]


def failing_batch(first_fd: int) -> Handler:
    """Acks every batch except the one starting with ФД ``first_fd`` (a 503)."""
    def handle(request: httpx.Request) -> httpx.Response:
        if json.loads(request.content)[0]["fd_number"] == first_fd:
            return error(503)(request)
        return acks_for(request)
    return handle


@pytest.mark.parametrize(("in_flight", "last_accepted", "requests"), [(1, False, 2),
                                                                      (2, True, 3)])
def test_a_failing_batch_keeps_the_acks_of_the_others(in_flight: int, last_accepted: bool,
                                                      requests: int) -> None:
    docs = sample_documents(REGISTER, 15)
    plugin = plugin_with(failing_batch(6), batch_size=5, in_flight=in_flight)
    acks = plugin.backoffice_export_documents(NAME, CREDS, docs)
    assert acks is not None and [a.key for a in acks] == [d.key for d in docs]
    # in flight together with the failing one, the third batch still arrived; one at a
    # time, it is never sent after the failure
    assert [a.accepted for a in acks] == [True] * 5 + [False] * 5 + [last_accepted] * 5
    assert all(a.error for a in acks if not a.accepted)
    assert plugin.requests == requests


def test_when_every_batch_fails_the_error_is_raised() -> None:
    plugin = plugin_with(failing_batch(1), batch_size=5)
    with pytest.raises(BackOfficeUnavailableError):
        plugin.backoffice_export_documents(NAME, CREDS, sample_documents(REGISTER, 5))


def test_a_failing_first_batch_raises() -> None:
    with pytest.raises(BackOfficeUnavailableError):
        plugin_with(error(500)).backoffice_export_documents(
            NAME, CREDS, sample_documents(REGISTER, 3))


def test_without_keepalive_every_request_asks_to_close() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return acks_for(request)

    plugin_with(handle, keepalive=False).backoffice_export_documents(
        NAME, CREDS, sample_documents(REGISTER, 1))
    assert seen[0].headers["Connection"] == "close"


# --- against the real server's faults ------------------------------------------------------


@pytest.fixture
def live(office: ReferenceBackOffice) -> Iterator[tuple[ReferencePlugin, Credentials]]:
    plugin = ReferencePlugin(timeout=5)
    code = office.issue_sync_code(SHOP)
    credentials = plugin.backoffice_pair(NAME, office.url, code, REGISTER)
    assert credentials is not None
    try:
        yield plugin, credentials
    finally:
        plugin.close()


def test_live_faults_500_and_429(office: ReferenceBackOffice,
                                 live: tuple[ReferencePlugin, Credentials]) -> None:
    plugin, credentials = live
    office.set_faults("503:first=1,429:first=1:retry_after=4")
    with pytest.raises(BackOfficeUnavailableError):
        plugin.backoffice_check(NAME, credentials)
    with pytest.raises(RateLimitedError) as info:
        plugin.backoffice_check(NAME, credentials)
    assert info.value.retry_after == 4
    assert plugin.backoffice_check(NAME, credentials) is True


def test_live_slow_answer_times_out(office: ReferenceBackOffice,
                                    live: tuple[ReferencePlugin, Credentials]) -> None:
    _, credentials = live
    impatient = ReferencePlugin(timeout=0.05)
    office.set_faults("slow:first=1:delay=0.5")
    try:
        with pytest.raises(BackOfficeUnavailableError, match="вовремя"):
            impatient.backoffice_check(NAME, credentials)
    finally:
        impatient.close()


def test_live_dropped_connection_then_redelivery_is_a_duplicate(
        office: ReferenceBackOffice, live: tuple[ReferencePlugin, Credentials]) -> None:
    plugin, credentials = live
    docs = sample_documents(REGISTER, 3)
    office.set_faults("drop:first=1:path=/api/v1/documents")
    with pytest.raises(BackOfficeUnavailableError):
        plugin.backoffice_export_documents(NAME, credentials, docs)
    assert office.count_documents() == 0  # dropped before handling
    office.set_faults("drop-after:first=1:path=/api/v1/documents")
    with pytest.raises(BackOfficeUnavailableError):
        plugin.backoffice_export_documents(NAME, credentials, docs)
    assert office.count_documents() == 3  # stored, but the client never heard
    acks = plugin.backoffice_export_documents(NAME, credentials, docs)
    assert acks is not None and all(a.accepted and a.duplicate for a in acks)
    assert office.count_documents() == 3


def test_faults_can_be_switched_at_runtime_over_the_admin_api(
        office: ReferenceBackOffice, live: tuple[ReferencePlugin, Credentials]) -> None:
    plugin, credentials = live
    admin = {"Authorization": f"Bearer {office.admin_token}"}
    with httpx.Client(base_url=office.url or "") as http:
        for spec in ("nonsense", "slow:delay=nan", "429:retry_after=inf"):
            assert http.put("/api/v1/admin/faults", headers=admin,
                            json={"spec": spec}).status_code == 422
        answer = http.put("/api/v1/admin/faults", headers=admin,
                          json={"spec": "500:every=2"})
        assert answer.status_code == 200
        outcomes = []
        for _ in range(4):
            try:
                outcomes.append(plugin.backoffice_check(NAME, credentials))
            except BackOfficeUnavailableError:
                outcomes.append(False)
        assert outcomes == [True, False, True, False]
        status = http.get("/api/v1/admin/faults", headers=admin).json()
        assert status["rules"][0]["fired"] == 2
        # admin and health are never faulted, so a test can always switch faults off
        assert http.put("/api/v1/admin/faults", headers=admin,
                        json={"spec": ""}).status_code == 200
    assert plugin.backoffice_check(NAME, credentials) is True

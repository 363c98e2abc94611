"""The client keeps MoySklad's rules: gzip, paging, arrays, rate limits, 429 handling."""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from moysklad_helpers import FakeClock

from kkt_bridge.errors import (
    AuthenticationError,
    BackOfficeError,
    BackOfficeUnavailableError,
    RateLimitedError,
)
from kkt_bridge.plugins.moysklad.client import MoySkladClient, retry_after_seconds
from kkt_bridge.plugins.moysklad.fake import FakeMoySklad
from kkt_bridge.plugins.moysklad.ratelimit import RateLimiter

TOKEN = "0cbfc512618efa7d5fa306250bca064c1169b37c"


def client_for(fake: FakeMoySklad, clock: FakeClock, *, units: int = 45,
               max_retries: int = 3, token: str = TOKEN) -> MoySkladClient:
    limiter = RateLimiter(units=units, clock=clock.now, sleep=clock.sleep)
    return MoySkladClient(token, transport=fake, limiter=limiter, max_retries=max_retries)


def test_every_request_offers_gzip_only_and_a_bearer_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"meta": {"size": 0}, "rows": []})

    client = MoySkladClient(TOKEN, transport=httpx.MockTransport(handler))
    client.get("entity/product")
    assert seen[0].headers["Accept-Encoding"] == "gzip"
    assert seen[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert TOKEN not in str(seen[0].url)


def test_a_long_list_is_read_in_pages_of_1000() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    for n in range(2500):
        fake.add_product(f"Товар {n}", 100 + n)
    client = client_for(fake, clock)
    rows = list(client.iter_rows("entity/product"))
    assert len(rows) == 2500
    assert len({r["id"] for r in rows}) == 2500
    pages = [(q["limit"], q["offset"]) for m, p, q in fake.log if p == "entity/product"]
    assert pages == [("1000", "0"), ("1000", "1000"), ("1000", "2000")]


def test_a_client_that_asks_for_more_than_1000_rows_fails() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    client = client_for(fake, clock)
    with pytest.raises(BackOfficeError) as info:
        client.get("entity/product", {"limit": 2000})
    assert "1040" not in str(info.value)  # the message is the server's text, not codes
    assert fake.rejected == {400: 1}
    # and ours clamps whatever it is asked to a legal page size
    list(client.iter_rows("entity/product", limit=5000))
    assert fake.log[-1][2]["limit"] == "1000"


def test_arrays_are_posted_in_chunks_of_at_most_1000() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    client = client_for(fake, clock)
    answers = client.post_many("entity/productfolder", [{"name": f"g{n}"} for n in range(2500)])
    assert len(answers) == 2500
    assert fake.array_sizes == [1000, 1000, 500]
    with pytest.raises(ValueError):
        client.post("entity/productfolder", [{"name": "x"}] * 1001)


def test_a_burst_of_200_requests_never_gets_429() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    client = client_for(fake, clock)
    start = clock.now()
    for _ in range(200):
        client.get("entity/uom")
    assert fake.rejected == {}
    assert client.requests_sent == 200
    # 45 per 3 s: the 200th request cannot leave before 4 full windows passed
    assert clock.now() - start >= 12.0


def test_without_the_limiter_the_same_burst_is_refused() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    greedy = client_for(fake, clock, units=10_000, max_retries=0)
    with pytest.raises(RateLimitedError):
        for _ in range(200):
            greedy.get("entity/uom")
    assert fake.rejected == {429: 1}


def test_429_is_waited_out_for_x_lognex_retry_after_milliseconds() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    fake.force_429 = 2
    fake.retry_after_ms = 1500
    client = client_for(fake, clock)
    assert client.get("entity/uom")["meta"]["size"] == 2
    assert fake.rejected == {429: 2}
    assert sum(clock.slept) == pytest.approx(3.0)


def test_too_many_429_raise_rate_limited_with_retry_after() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    fake.force_429 = 10
    fake.retry_after_ms = 2500
    client = client_for(fake, clock, max_retries=2)
    with pytest.raises(RateLimitedError) as info:
        client.get("entity/uom")
    assert info.value.retry_after == pytest.approx(2.5)
    assert info.value.retryable
    assert fake.rejected == {429: 3}  # one try and two retries, bounded


def test_retry_after_header_units() -> None:
    request = httpx.Request("GET", "https://x/")
    assert retry_after_seconds(httpx.Response(
        429, headers={"X-Lognex-Retry-After": "750"}, request=request)) == 0.75
    assert retry_after_seconds(httpx.Response(
        429, headers={"Retry-After": "2"}, request=request)) == 2.0
    assert retry_after_seconds(httpx.Response(429, request=request)) == 3.0


def test_never_more_than_5_requests_in_flight() -> None:
    fake_lock = threading.Condition()
    entered = [0]

    def overlap() -> None:
        # hold each request until five are in flight, or until every request has arrived
        with fake_lock:
            entered[0] += 1
            fake_lock.notify_all()
            fake_lock.wait_for(lambda: fake._in_flight >= 5 or entered[0] == 20, timeout=5)

    fake = FakeMoySklad(in_flight_hook=overlap)
    client = MoySkladClient(TOKEN, transport=fake)
    threads = [threading.Thread(target=client.get, args=("entity/uom",)) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    assert fake.max_in_flight == 5
    assert fake.rejected == {}
    assert Counter(m for m, p, q in fake.log) == {"GET": 20}


def test_a_wrong_token_is_an_authentication_error_without_the_token() -> None:
    clock = FakeClock()
    fake = FakeMoySklad(clock=clock.now)
    client = client_for(fake, clock, token="f" * 40)
    with pytest.raises(AuthenticationError) as info:
        client.get("entity/retailstore")
    assert "f" * 40 not in str(info.value)
    assert "токен" in str(info.value)


def test_server_errors_and_dropped_connections_are_retryable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("boom"):
            return httpx.Response(503)
        raise httpx.ConnectError("refused", request=request)

    client = MoySkladClient(TOKEN, transport=httpx.MockTransport(handler))
    with pytest.raises(BackOfficeUnavailableError) as info:
        client.get("boom")
    assert info.value.retryable
    with pytest.raises(BackOfficeUnavailableError):
        client.get("entity/uom")

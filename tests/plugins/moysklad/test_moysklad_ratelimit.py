"""The sliding-window limiter: no 3 s window ever holds more than its units."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moysklad_helpers import FakeClock

from kkt_bridge.pluginmanager import backoffices, get_plugin_manager
from kkt_bridge.plugins.moysklad.ratelimit import RateLimiter, user_token_weight


def sent_times(limiter: RateLimiter, clock: FakeClock, count: int) -> list[float]:
    times = []
    for _ in range(count):
        with limiter.slot():
            times.append(clock.now())
    return times


def max_in_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t - window < u <= t) for t in times)


def test_200_requests_keep_45_per_3_seconds_without_real_sleeping() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock.now, sleep=clock.sleep)
    times = sent_times(limiter, clock, 200)
    assert max_in_window(times, 3.0) == 45
    assert times[44] == times[0]  # the first 45 go at once
    assert times[45] == pytest.approx(times[0] + 3.0)
    assert times[-1] - times[0] == pytest.approx(12.0)


def test_a_user_token_weight_of_3_allows_15_requests_per_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(weight=3, clock=clock.now, sleep=clock.sleep)
    times = sent_times(limiter, clock, 40)
    assert max_in_window(times, 3.0) == 15


def test_a_server_pause_holds_everyone() -> None:
    clock = FakeClock()
    limiter = RateLimiter(clock=clock.now, sleep=clock.sleep)
    limiter.pause_until(clock.now() + 2.5)
    assert sent_times(limiter, clock, 1) == [pytest.approx(1002.5)]


@settings(max_examples=50)
@given(st.integers(1, 45), st.integers(1, 4), st.lists(st.floats(0, 2.0), min_size=1,
                                                       max_size=120))
def test_no_window_ever_exceeds_its_units(units: int, weight: int, gaps: list[float]
                                          ) -> None:
    weight = min(weight, units)
    clock = FakeClock()
    limiter = RateLimiter(units=units, weight=weight, clock=clock.now, sleep=clock.sleep)
    times = []
    for gap in gaps:
        clock.sleep(gap)  # the caller's own pace
        with limiter.slot():
            times.append(clock.now())
    assert max_in_window(times, 3.0) * weight <= units


def test_the_user_token_weight_follows_the_documented_schedule() -> None:
    assert user_token_weight(date(2026, 5, 11)) == 1
    assert user_token_weight(date(2026, 5, 12)) == 2
    assert user_token_weight(date(2026, 9, 1)) == 3
    assert user_token_weight(date(2026, 12, 1)) == 4


def test_a_bad_weight_is_refused() -> None:
    with pytest.raises(ValueError):
        RateLimiter(units=45, weight=46)


def test_the_entry_point_registers_the_plugin_like_an_external_one() -> None:
    pm = get_plugin_manager()
    [record] = [r for r in pm.records if r.name == "moysklad"]
    assert record.status.lower() == "ok", record.reason
    assert backoffices(pm)["moysklad"].default_endpoint == \
        "https://api.moysklad.ru/api/remap/1.2/"

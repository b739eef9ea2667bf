"""Rate-limit cooldowns: the wait a 429 asks for, and how health treats it."""

from datetime import datetime, timezone
from email.utils import format_datetime

import pytest

from llmswitch.config.failover import RateLimitConfig
from llmswitch.config.schema import HealthConfig
from llmswitch.cooldowns import Cooldowns, parse_duration, rate_limit_wait, retry_after
from llmswitch.health import HealthTracker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("1h2m3.5s", 3723.5), ("250ms", 0.25), ("20", 20.0), ("0.5", 0.5), ("2m", 120.0)],
)
def test_go_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "1x", "s1", "1s junk"])
def test_unreadable_durations(text):
    assert parse_duration(text) is None


def test_retry_after_seconds_and_http_date():
    now = 1_700_000_000.0
    assert retry_after("7", now) == 7.0
    date = format_datetime(datetime.fromtimestamp(now + 30, tz=timezone.utc), usegmt=True)
    assert retry_after(date, now) == pytest.approx(30.0)
    past = format_datetime(datetime.fromtimestamp(now - 30, tz=timezone.utc), usegmt=True)
    assert retry_after(past, now) == 0.0
    assert retry_after("tomorrow", now) is None


def test_rate_limit_wait_prefers_retry_after_then_the_exhausted_limit():
    assert rate_limit_wait({"retry-after": "3", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "9s"}) == 3.0
    openai = {
        "x-ratelimit-remaining-requests": "0",
        "x-ratelimit-reset-requests": "1s",
        "x-ratelimit-remaining-tokens": "0",
        "x-ratelimit-reset-tokens": "6m0s",
    }
    assert rate_limit_wait(openai) == 360.0
    # Only an exhausted limit's reset counts.
    assert rate_limit_wait({**openai, "x-ratelimit-remaining-tokens": "1500"}) == 1.0
    assert rate_limit_wait({"x-ratelimit-reset-requests": "1s"}) is None
    assert rate_limit_wait({}) is None


def test_cooldowns_default_bound_and_end():
    clock = Clock()
    cooldowns = Cooldowns(RateLimitConfig(default_cooldown_s=4, max_cooldown_s=60), clock)
    assert cooldowns.rate_limited("a", {}) == 4
    assert cooldowns.rate_limited("b", {"retry-after": "3600"}) == 60
    assert cooldowns.remaining("a") == 4
    clock.now += 3.5
    assert cooldowns.remaining("a") == pytest.approx(0.5)
    clock.now += 0.5
    assert cooldowns.remaining("a") == 0
    # A shorter cooldown never cuts a longer one short.
    cooldowns.rate_limited("b", {"retry-after": "1"})
    assert cooldowns.remaining("b") == pytest.approx(56)


def test_a_429_takes_the_model_out_of_rotation_without_counting_as_a_failure():
    clock = Clock()
    health = HealthTracker(HealthConfig(failure_threshold=2, cooldown_s=30), clock)
    health.record("a", ok=False)
    health.rate_limited("a", {"retry-after": "2"})
    assert not health.is_healthy("a") and health.unhealthy() == []  # cooling, not broken
    clock.now += 2
    assert health.is_healthy("a")
    assert health.record("a", ok=False)  # the second failure trips it: the 429 was not one
    assert health.unhealthy() == ["a"]


def test_disabled_rate_limits_do_not_cool_down():
    health = HealthTracker(HealthConfig(rate_limits=RateLimitConfig(enabled=False)))
    assert health.rate_limited("a", {"retry-after": "5"}) == 0
    assert health.is_healthy("a")

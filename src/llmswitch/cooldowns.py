"""Rate-limit cooldowns: a 429 takes its model out of rotation for the time the upstream asked.

The time comes from `Retry-After` (seconds or an HTTP date), else from the OpenAI-style
`x-ratelimit-reset-requests` / `x-ratelimit-reset-tokens` durations ("1s", "6m0s", "250ms") of
the limit whose `x-ratelimit-remaining-*` is 0 (the longer, when both are), else the configured default.
A cooldown is not a failure: the model is not broken, only busy, and comes back when it ends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from email.utils import parsedate_to_datetime

from llmswitch.config.failover import RateLimitConfig

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(text: str) -> float | None:
    """Seconds of a Go-style duration ("1s", "6m0s", "1h2m3.5s", "250ms"); a bare number is seconds."""
    text = text.strip()
    try:
        return max(float(text), 0.0)
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return None
    return sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts)


def retry_after(value: str, now: float) -> float | None:
    """Seconds a `Retry-After` value asks for: delta-seconds or an HTTP date (`now`: epoch seconds)."""
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    return max(when.timestamp() - now, 0.0)


def rate_limit_wait(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a 429's headers ask the client to wait (lower-case names), or None when they give no hint."""
    now = time.time() if now is None else now
    if "retry-after" in headers and (seconds := retry_after(headers["retry-after"], now)) is not None:
        return seconds
    waits = []
    for limit in ("requests", "tokens"):
        remaining = headers.get(f"x-ratelimit-remaining-{limit}", "").strip()
        reset = headers.get(f"x-ratelimit-reset-{limit}")
        if remaining == "0" and reset is not None and (seconds := parse_duration(reset)) is not None:
            waits.append(seconds)
    return max(waits) if waits else None


class Cooldowns:
    """model -> when its cooldown ends (monotonic clock)."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._until: dict[str, float] = {}
        self.on_cool: Callable[[str, float], None] | None = None
        """Told of each cooldown this process starts (model, seconds): shares it (`cooldown_sync`)."""

    def rate_limited(self, model: str, headers: Mapping[str, str]) -> float:
        """Cool `model` down for what a 429's headers ask (bounded); returns the cooldown's seconds."""
        if not self.config.enabled:
            return 0.0
        wait = rate_limit_wait(headers)
        seconds = min(self.config.default_cooldown_s if wait is None else wait, self.config.max_cooldown_s)
        self.cool(model, seconds)
        if self.on_cool is not None:
            self.on_cool(model, seconds)
        return seconds

    def cool(self, model: str, seconds: float) -> None:
        until = self._clock() + seconds
        self._until[model] = max(until, self._until.get(model, 0.0))

    def remaining(self, model: str) -> float:
        """Seconds left of `model`'s cooldown (0: not cooling)."""
        until = self._until.get(model)
        if until is None:
            return 0.0
        left = until - self._clock()
        if left <= 0:
            del self._until[model]
            return 0.0
        return left

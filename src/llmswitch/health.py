"""Router-side model health: enough failures inside a window take a model out of rotation for a cooldown,
and a 429 cools its model down for the time the upstream asked (`cooldowns`) without counting as a failure.

Failures are what the response observer sees: 5xx statuses (Envoy's own 502/503/504 for resets,
refused connections and timeouts included), responses cut off mid-stream, and the models a request
failed over from. State is per router process and survives config reloads.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Mapping

from llmswitch.config.schema import HealthConfig
from llmswitch.cooldowns import Cooldowns


class HealthTracker:
    def __init__(self, config: HealthConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._down_until: dict[str, float] = {}
        self.cooldowns = Cooldowns(config.rate_limits, clock)
        self.config = config

    @property
    def config(self) -> HealthConfig:
        return self._config

    @config.setter
    def config(self, config: HealthConfig) -> None:
        """A reload's settings; the state stays."""
        self._config = config
        self.cooldowns.config = config.rate_limits

    def record(self, model: str, ok: bool) -> bool:
        """Count one response; True when this failure took the model out of rotation."""
        if not self.config.enabled:
            return False
        now = self._clock()
        if ok:
            self._failures.pop(model, None)
            return False
        failures = self._failures.setdefault(model, deque())
        failures.append(now)
        while failures and failures[0] < now - self.config.window_s:
            failures.popleft()
        if len(failures) >= self.config.failure_threshold:
            self._down_until[model] = now + self.config.cooldown_s
            failures.clear()
            return True
        return False

    def rate_limited(self, model: str, headers: Mapping[str, str]) -> float:
        """A 429 from `model` with these response headers: its cooldown's seconds (not a failure)."""
        return self.cooldowns.rate_limited(model, headers)

    def is_healthy(self, model: str) -> bool:
        """In rotation: neither broken (cooling down after failures) nor rate-limited."""
        return self._not_down(model) and self.cooldowns.remaining(model) == 0

    def _not_down(self, model: str) -> bool:
        until = self._down_until.get(model)
        if until is None:
            return True
        if self._clock() >= until:
            del self._down_until[model]  # cooled down: back in rotation, failures count afresh
            return True
        return False

    def unhealthy(self) -> list[str]:
        return [m for m in list(self._down_until) if not self._not_down(m)]

"""Router-side model health: enough failures inside a window take a model out of rotation for a cooldown.

Failures are what the response observer sees: 5xx statuses (Envoy's own 502/503/504 for resets,
refused connections and timeouts included) and responses cut off mid-stream. State is per router
process and survives config reloads.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable

from llmswitch.config.schema import HealthConfig


class HealthTracker:
    def __init__(self, config: HealthConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._down_until: dict[str, float] = {}

    def record(self, model: str, ok: bool) -> None:
        if not self.config.enabled:
            return
        now = self._clock()
        if ok:
            self._failures.pop(model, None)
            return
        failures = self._failures.setdefault(model, deque())
        failures.append(now)
        while failures and failures[0] < now - self.config.window_s:
            failures.popleft()
        if len(failures) >= self.config.failure_threshold:
            self._down_until[model] = now + self.config.cooldown_s
            failures.clear()

    def is_healthy(self, model: str) -> bool:
        until = self._down_until.get(model)
        if until is None:
            return True
        if self._clock() >= until:
            del self._down_until[model]  # cooled down: back in rotation, failures count afresh
            return True
        return False

    def unhealthy(self) -> list[str]:
        return [m for m in list(self._down_until) if not self.is_healthy(m)]

"""`context` signal: the estimated token count of the whole conversation."""

from __future__ import annotations

from llmswitch.config.signals import ContextSignal
from llmswitch.request import RouteRequest
from llmswitch.signals.base import MATCHED, NOT_MATCHED, SignalResult


class ContextLength:
    type = "context"

    def __init__(self, spec: ContextSignal) -> None:
        self.name = spec.name
        self._min = spec.min_tokens
        self._max = spec.max_tokens

    def evaluate(self, request: RouteRequest) -> SignalResult:
        tokens = request.prompt_tokens
        if self._min is not None and tokens < self._min:
            return NOT_MATCHED
        if self._max is not None and tokens > self._max:
            return NOT_MATCHED
        return MATCHED

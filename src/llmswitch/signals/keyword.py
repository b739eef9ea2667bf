"""`keyword` signal: literal substrings in the user's messages."""

from __future__ import annotations

from llmswitch.config.signals import KeywordSignal
from llmswitch.request import RouteRequest
from llmswitch.signals.base import MATCHED, NOT_MATCHED, SignalResult


class KeywordMatcher:
    type = "keyword"

    def __init__(self, spec: KeywordSignal) -> None:
        self.name = spec.name
        self._case_sensitive = spec.case_sensitive
        self._keywords = tuple(k if spec.case_sensitive else k.casefold() for k in spec.keywords)
        self._need_all = spec.operator == "all"

    def evaluate(self, request: RouteRequest) -> SignalResult:
        text = request.user_text if self._case_sensitive else request.user_text_folded
        if self._need_all:
            return MATCHED if all(k in text for k in self._keywords) else NOT_MATCHED
        for keyword in self._keywords:  # a loop, not any(...): no generator on the common path
            if keyword in text:
                return MATCHED
        return NOT_MATCHED

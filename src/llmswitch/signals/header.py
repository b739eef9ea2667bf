"""`header` signal: a request header's value."""

from __future__ import annotations

import re

from llmswitch.config.signals import HeaderSignal
from llmswitch.request import RouteRequest
from llmswitch.signals.base import MATCHED, NOT_MATCHED, SignalResult


class HeaderMatcher:
    type = "header"

    def __init__(self, spec: HeaderSignal) -> None:
        self.name = spec.name
        self._header = spec.header
        self._equals = spec.equals
        self._one_of = frozenset(spec.one_of or ())
        self._regex = re.compile(spec.regex) if spec.regex is not None else None

    def _accepts(self, value: str) -> bool:
        if self._equals is not None:
            return value == self._equals
        if self._one_of:
            return value in self._one_of
        if self._regex is not None:
            return self._regex.search(value) is not None
        return True

    def evaluate(self, request: RouteRequest) -> SignalResult:
        value = request.headers.get(self._header)
        return MATCHED if value is not None and self._accepts(value) else NOT_MATCHED

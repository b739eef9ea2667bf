"""`pii` signal: personal data or secrets of the configured entity types in user turns and/or tool traffic."""

from __future__ import annotations

from llmswitch.config.signals import PiiSignal
from llmswitch.request import RouteRequest
from llmswitch.safety.pii import PiiSpan, find_pii
from llmswitch.signals.base import NOT_MATCHED, SignalResult

_SCOPE_TEXT = {"user": lambda r: r.user_text, "tool": lambda r: r.tool_text}


class PiiDetector:
    type = "pii"

    def __init__(self, spec: PiiSignal) -> None:
        self.name = spec.name
        self._types = tuple(spec.types)
        self._scope = tuple(spec.scope)
        self._min_score = spec.min_score

    def spans(self, request: RouteRequest) -> list[PiiSpan]:
        """The spans in every scoped text (memoised per request for signals with the same settings)."""
        key = ("pii", self._types, self._scope, self._min_score)
        spans = request.memo.get(key)
        if spans is None:
            spans = request.memo[key] = [
                s for part in self._scope for s in find_pii(_SCOPE_TEXT[part](request), self._types, self._min_score)
            ]
        return spans  # type: ignore[return-value]

    def evaluate(self, request: RouteRequest) -> SignalResult:
        spans = self.spans(request)
        return SignalResult(True, max(s.score for s in spans)) if spans else NOT_MATCHED

"""`jailbreak` signal: a jailbreak or prompt-injection attempt, by the trained head, the rules, or either."""

from __future__ import annotations

from llmswitch.config.signals import JailbreakSignal
from llmswitch.request import RouteRequest
from llmswitch.safety.jailbreak import rule_match
from llmswitch.signals.base import NOT_MATCHED, SignalResult

_RULES_MEMO = "jailbreak_rules"


def rules_hit(request: RouteRequest) -> bool:
    """The rules on every user turn and tool result; computed once per request."""
    hit = request.memo.get(_RULES_MEMO)
    if hit is None:
        hit = request.memo[_RULES_MEMO] = rule_match(request.user_text) or rule_match(request.tool_text)
    return bool(hit)


class JailbreakDetector:
    type = "jailbreak"

    def __init__(self, spec: JailbreakSignal) -> None:
        self.name = spec.name
        self._method = spec.method
        self._threshold = spec.threshold

    def evaluate(self, request: RouteRequest) -> SignalResult:
        # Rules first: when they match, "both" needs no encoder pass.
        if self._method != "model" and rules_hit(request):
            return SignalResult(True, 1.0)
        if self._method == "rules":
            return NOT_MATCHED
        probability = request.require_semantics().jailbreak_probability or 0.0
        return SignalResult(probability >= self._threshold, probability)

"""The contract every signal type follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from llmswitch.request import RouteRequest


@dataclass(frozen=True)
class SignalResult:
    matched: bool
    confidence: float = 1.0


MATCHED = SignalResult(True)
NOT_MATCHED = SignalResult(False, 0.0)


class Signal(Protocol):
    """Evaluates one named signal of one type against a request."""

    type: str
    name: str

    def evaluate(self, request: RouteRequest) -> SignalResult: ...

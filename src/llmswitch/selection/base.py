"""The contract every model-selection algorithm follows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from llmswitch.request import RouteRequest


@dataclass(frozen=True)
class Selection:
    model: str
    reason: str


class Selector(Protocol):
    """Picks one of a decision's modelRefs for a request."""

    algorithm: str

    def select(self, request: RouteRequest) -> Selection: ...

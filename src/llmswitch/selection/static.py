"""`static`: always the decision's first modelRef."""

from __future__ import annotations

from llmswitch.request import RouteRequest
from llmswitch.selection.base import Selection, SelectorContext


class StaticSelector:
    algorithm = "static"

    def __init__(self, context: SelectorContext) -> None:
        decision = context.decision
        self._selection = Selection(decision.model_refs[0].model, "static: first modelRef")

    def select(self, request: RouteRequest) -> Selection:
        return self._selection

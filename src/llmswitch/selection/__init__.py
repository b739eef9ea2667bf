"""Model-selection algorithms, one module each, looked up by the decision's `algorithm.type`."""

from __future__ import annotations

from collections.abc import Callable

from llmswitch.selection.base import AsyncSelector, Selection, SelectionRequired, Selector, SelectorContext
from llmswitch.selection.static import StaticSelector
from llmswitch.selection.weighted import WeightedSelector

SELECTORS: dict[str, Callable[[SelectorContext], Selector | AsyncSelector]] = {
    "static": StaticSelector,
    "weighted": WeightedSelector,
}


def build_selector(context: SelectorContext) -> Selector | AsyncSelector:
    return SELECTORS[context.decision.algorithm.type](context)


def is_async(selector: Selector | AsyncSelector) -> bool:
    return hasattr(selector, "select_async")


__all__ = [
    "SELECTORS",
    "AsyncSelector",
    "Selection",
    "SelectionRequired",
    "Selector",
    "SelectorContext",
    "build_selector",
    "is_async",
]

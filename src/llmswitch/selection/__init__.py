"""Model-selection algorithms, one module each, looked up by the decision's `algorithm.type`."""

from __future__ import annotations

from collections.abc import Callable

from llmswitch.selection.base import AsyncSelector, Selection, SelectionRequired, Selector, SelectorContext
from llmswitch.selection.budget import BudgetSelector
from llmswitch.selection.kmeans import KmeansSelector
from llmswitch.selection.knn import KnnSelector
from llmswitch.selection.llm import LlmSelector
from llmswitch.selection.mlp import MlpSelector
from llmswitch.selection.multi_factor import MultiFactorSelector
from llmswitch.selection.qos import QosSelector
from llmswitch.selection.static import StaticSelector
from llmswitch.selection.svm import SvmSelector
from llmswitch.selection.threshold import ThresholdSelector
from llmswitch.selection.weighted import WeightedSelector

SELECTORS: dict[str, Callable[[SelectorContext], Selector | AsyncSelector]] = {
    "static": StaticSelector,
    "weighted": WeightedSelector,
    "knn": KnnSelector,
    "kmeans": KmeansSelector,
    "svm": SvmSelector,
    "mlp": MlpSelector,
    "qos": QosSelector,
    "multi_factor": MultiFactorSelector,
    "threshold": ThresholdSelector,
    "llm": LlmSelector,
    "budget": BudgetSelector,
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

"""`weighted`: a random modelRef, chosen in proportion to the weights."""

from __future__ import annotations

import bisect
import itertools
import random

from llmswitch.config.algorithms import WeightedAlgorithm
from llmswitch.request import RouteRequest
from llmswitch.selection.base import Selection, SelectorContext


class WeightedSelector:
    algorithm = "weighted"

    def __init__(self, context: SelectorContext) -> None:
        decision = context.decision
        assert isinstance(decision.algorithm, WeightedAlgorithm)
        refs = decision.model_refs
        total = sum(ref.weight for ref in refs)
        self._cumulative = list(itertools.accumulate(ref.weight / total for ref in refs))
        self._selections = [Selection(ref.model, f"weighted: share {ref.weight / total:.2f}") for ref in refs]
        self._random = random.Random(decision.algorithm.weighted.seed)

    def select(self, request: RouteRequest) -> Selection:
        index = bisect.bisect_right(self._cumulative, self._random.random())
        return self._selections[min(index, len(self._selections) - 1)]

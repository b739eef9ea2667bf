"""`budget`: wraps another algorithm and steps down to cheaper models as the day's budget runs out.

Spend is the day's total in the BudgetGuard's store (the `daily` key the guard charges, the same
one a `budget.limits` entry of scope `daily` uses). While the remaining share of `budget_per_day`
is below a tier's `below`, only that tier's models are allowed; a tier without `models` keeps
the cheapest price levels (each lower tier drops one more level; the last keeps only the
cheapest). The inner algorithm's choice stands when allowed; otherwise its scores pick among the
allowed models when it has scores, else the priciest allowed model answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from llmswitch.budget import BudgetGuard
from llmswitch.config.algorithms import BudgetAlgorithm, BudgetTier
from llmswitch.config.models import ModelConfig
from llmswitch.request import RouteRequest
from llmswitch.selection.artifact import config_error
from llmswitch.selection.base import AsyncSelector, Selection, Selector, SelectorContext

ALGORITHM = "budget"


def daily_key(guard: BudgetGuard, now: float) -> str:
    """The store key holding the UTC day's spend, as BudgetGuard names it."""
    day = time.strftime("%Y-%m-%d", time.gmtime(now))
    return f"{guard.config.store.key_prefix}:day:{day}"


def price(model: ModelConfig) -> float:
    return (model.pricing.input_per_1m + model.pricing.output_per_1m) / 2 if model.pricing else 0.0


def tier_models(tiers: Sequence[BudgetTier], models: Sequence[ModelConfig]) -> list[frozenset[str]]:
    """The allowed model names of each tier."""
    levels = sorted({price(m) for m in models})
    allowed = []
    for index, tier in enumerate(tiers):
        if tier.models is not None:
            allowed.append(frozenset(tier.models))
            continue
        keep = 1 if index == len(tiers) - 1 else max(1, len(levels) - index - 1)
        allowed.append(frozenset(m.name for m in models if price(m) <= levels[keep - 1]))
    return allowed


class BudgetSelector:
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext, clock: Callable[[], float] = time.time) -> None:
        from llmswitch.selection import build_selector  # the registry imports this module

        params = context.decision.algorithm
        assert isinstance(params, BudgetAlgorithm)
        p = params.budget
        configs = {m.name: m for m in context.config.models}
        self._models = [configs[ref.model] for ref in context.decision.model_refs]
        names = {m.name for m in self._models}
        for index, tier in enumerate(p.tiers):
            for model in tier.models or ():
                if model not in names:
                    raise config_error(context, f"budget.tiers[{index}].models", f"{model!r} is not one of this decision's modelRefs")
        inner_context = SelectorContext(
            context.config,
            context.decision.model_copy(update={"algorithm": p.inner}),
            context.decision_index,
            context.source,
            context.base_dir,
            context.budget,
            context.metrics,
            f"{context.path}.budget.inner",
        )
        self.inner: Selector | AsyncSelector = build_selector(inner_context)
        self._tiers = list(zip((t.below for t in p.tiers), tier_models(p.tiers, self._models), strict=True))
        self._budget = p.budget_per_day
        self._guard = context.budget
        self._clock = clock
        self._priciest = sorted(self._models, key=price, reverse=True)

    def allowed(self, remaining: float) -> frozenset[str] | None:
        """The models allowed at this remaining share, or None when every model is."""
        allowed = None
        for below, models in self._tiers:
            if remaining < below:
                allowed = models
        return allowed

    async def _inner(self, request: RouteRequest) -> Selection:
        if hasattr(self.inner, "select_async"):
            return await self.inner.select_async(request)
        return self.inner.select(request)  # type: ignore[union-attr]

    async def select_async(self, request: RouteRequest) -> Selection:
        spent = await self._guard.store.spent(daily_key(self._guard, self._clock()))
        remaining = max(0.0, 1.0 - spent / self._budget)
        allowed = self.allowed(remaining)
        details = {"budget_remaining": round(remaining, 4)}
        chosen = await self._inner(request)
        if allowed is None or chosen.model in allowed:
            return Selection(chosen.model, chosen.reason, {**chosen.details, **details})
        scores = getattr(self.inner, "model_scores", None)
        if scores is not None:
            ranked = scores(request)
            model = max((m for m in ranked if m in allowed), key=ranked.__getitem__)
            how = "its best-scored allowed model"
        else:
            model = next(m.name for m in self._priciest if m.name in allowed)
            how = "the priciest allowed model"
        reason = f"budget: {100 * remaining:.0f}% of the day's budget left, {chosen.model} not allowed; {how} {model}"
        return Selection(model, reason, {**chosen.details, **details})

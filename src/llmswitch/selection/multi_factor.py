"""`multi_factor`: weighted quality, cost and latency per model, no prompt features needed.

Quality, mean latency, mean completion tokens and mean cost per request come from a profile
artifact (trained from benchmark records); cost is the model's `pricing` applied to the prompt's
estimated tokens plus the profiled completion tokens, or, for a model without `pricing`, the
profiled mean cost per request; a cost weight with a model that has neither is a config error.
Score = w_q·quality − w_c·cost/max cost − w_l·latency/max latency over the candidates. Models
whose `context_window` is smaller than the prompt, whose mean price exceeds `max_cost_per_1m` or
whose latency exceeds `max_latency_ms` are dropped; if the caps drop every model that fits, the
caps are ignored (and the reason says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.config.algorithms import FactorWeights, MultiFactorAlgorithm
from llmswitch.config.models import Pricing
from llmswitch.request import RouteRequest
from llmswitch.selection.artifact import (
    ArtifactError,
    ArtifactMeta,
    check_models,
    config_error,
    load_json,
    require_artifact,
    save_json,
)
from llmswitch.selection.base import Selection, SelectorContext

ALGORITHM = "multi_factor"


@dataclass(frozen=True)
class ModelProfile:
    quality: float
    latency_s: float
    completion_tokens: float
    cost_usd: float | None = None
    """Mean cost per request in the profiling data; None when the data had no cost."""


@dataclass
class ProfileArtifact:
    meta: ArtifactMeta
    profiles: dict[str, ModelProfile]

    def save(self, path: Path) -> Path:
        payload = {m: vars(p) for m, p in self.profiles.items()}
        return save_json(path, self.meta, {"profile": payload})

    @classmethod
    def load(cls, path: Path) -> ProfileArtifact:
        meta, data = load_json(path, ALGORITHM)
        try:
            profiles = {m: ModelProfile(**data["profile"][m]) for m in meta.models}
        except (KeyError, TypeError) as exc:
            raise ArtifactError(f"{path} lacks a profile for {exc}") from None
        return cls(meta, profiles)


@dataclass
class MultiFactorScorer:
    """Scores `models` (in order) for a prompt length; dropped models score -inf."""

    models: tuple[str, ...]
    profiles: Mapping[str, ModelProfile]
    pricing: Mapping[str, Pricing | None]
    context_windows: Mapping[str, int | None]
    weights: FactorWeights
    max_cost_per_1m: float | None = None
    max_latency_ms: float | None = None

    def _capped(self, model: str) -> bool:
        price = self.pricing.get(model)
        if self.max_cost_per_1m is not None and price is not None:
            if (price.input_per_1m + price.output_per_1m) / 2 > self.max_cost_per_1m:
                return True
        return self.max_latency_ms is not None and self.profiles[model].latency_s * 1000 > self.max_latency_ms

    def __post_init__(self) -> None:
        unpriced = [m for m in self.models if self.pricing.get(m) is None and self.profiles[m].cost_usd is None]
        if self.weights.cost > 0 and unpriced:
            raise ValueError(f"no price for {unpriced}: give models[].pricing, or profile records that carry cost")

    def cost(self, model: str, prompt_tokens: int) -> float:
        price = self.pricing.get(model)
        profile = self.profiles[model]
        if price is None:
            return profile.cost_usd or 0.0
        return (prompt_tokens * price.input_per_1m + profile.completion_tokens * price.output_per_1m) / 1e6

    def scores(self, prompt_tokens: int) -> tuple[np.ndarray, bool]:
        """Scores and whether the caps had to be ignored because they left no model."""
        fits = [(self.context_windows.get(m) or prompt_tokens) >= prompt_tokens for m in self.models]
        allowed = [f and not self._capped(m) for f, m in zip(fits, self.models, strict=True)]
        relaxed = not any(allowed) and any(fits)
        keep = np.array(fits if relaxed else allowed)
        quality = np.array([self.profiles[m].quality for m in self.models])
        cost = np.array([self.cost(m, prompt_tokens) for m in self.models])
        latency = np.array([self.profiles[m].latency_s for m in self.models])
        w = self.weights
        score = w.quality * quality - w.cost * _share(cost, keep) - w.latency * _share(latency, keep)
        return np.where(keep, score, -np.inf), relaxed


def _share(values: np.ndarray, keep: np.ndarray) -> np.ndarray:
    top = values[keep].max() if keep.any() else 0.0
    return values / top if top > 0 else np.zeros_like(values)


class MultiFactorSelector:
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext) -> None:
        params = context.decision.algorithm
        assert isinstance(params, MultiFactorAlgorithm)
        p = params.multi_factor
        try:
            artifact = ProfileArtifact.load(require_artifact(context, "multi_factor", p.artifact))
        except ArtifactError as exc:
            raise config_error(context, "multi_factor.artifact", str(exc)) from None
        check_models(context, artifact.meta, "multi_factor.artifact")
        models = tuple(ref.model for ref in context.decision.model_refs)
        configs = {m.name: m for m in context.config.models}
        try:
            self.scorer = MultiFactorScorer(
                models,
                artifact.profiles,
                {m: configs[m].pricing for m in models},
                {m: configs[m].context_window for m in models},
                p.weights,
                p.max_cost_per_1m,
                p.max_latency_ms,
            )
        except ValueError as exc:
            raise config_error(context, "multi_factor.weights.cost", str(exc)) from None
        self.models = models

    def model_scores(self, request: RouteRequest) -> dict[str, float]:
        scores, _ = self.scorer.scores(request.prompt_tokens)
        return dict(zip(self.models, scores.tolist(), strict=True))

    def select(self, request: RouteRequest) -> Selection:
        scores, relaxed = self.scorer.scores(request.prompt_tokens)
        if not np.isfinite(scores).any():
            windows = self.scorer.context_windows
            largest = max(self.models, key=lambda m: windows.get(m) or 0)
            return Selection(
                largest,
                f"multi_factor: no model's context window fits {request.prompt_tokens} tokens; took the largest",
            )
        best = int(np.argmax(scores))
        note = "; cost/latency caps left no model, ignored them" if relaxed else ""
        return Selection(self.models[best], f"multi_factor: best score {scores[best]:.3f}{note}",
                         {"score": float(scores[best])})

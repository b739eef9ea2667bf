"""Scores of trained selectors on benchmark queries, loaded exactly as the router loads them.

Each learned selector's scores are taken at its calibrated operating point (the argmax is the
routing choice). `multi_factor` prices models with `models[].pricing` where a config gives it,
else with the mean cost per request recorded in its profile; with a cost weight and neither, it
fails loudly instead of treating the model as free.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from llmswitch.config.algorithms import FactorWeights
from llmswitch.config.models import Pricing
from llmswitch.selection.artifact import ArtifactError
from llmswitch.selection.kmeans import KmeansScorer
from llmswitch.selection.knn import KnnScorer
from llmswitch.selection.learned import calibrated_scores
from llmswitch.selection.mlp import MlpScorer
from llmswitch.selection.multi_factor import MultiFactorScorer, ProfileArtifact
from llmswitch.selection.qos import QosScorer
from llmswitch.selection.svm import SvmScorer
from llmswitch.selection.threshold import ThresholdScorer
from llmswitch.training.metrics import PerformanceTable
from llmswitch.training.pricing import Price
from llmswitch.training.selectors import ARTIFACT_FILES, REPORT_FILE
from llmswitch.training.split import SplitSpec


@dataclass(frozen=True)
class EvalSettings:
    knn_k: int | None = None
    """None: the k the artifact was trained with."""
    efficiency_weight: float | None = None
    """kmeans: None uses the trained utility weights."""
    factor_weights: FactorWeights = FactorWeights(quality=1.0, cost=0.1, latency=0.0)
    strong_share: float = 0.5


def _columns(scores: np.ndarray, scorer_models: Sequence[str], table: PerformanceTable) -> np.ndarray:
    """Reorder score columns from the artifact's model order to the table's."""
    if set(scorer_models) != set(table.models):
        raise ValueError(f"artifact models {sorted(scorer_models)} differ from the data's {sorted(table.models)}")
    return scores[:, [list(scorer_models).index(m) for m in table.models]]


def artifact_split(artifact_dir: Path) -> SplitSpec | None:
    """The split the artifacts in `artifact_dir` were trained with (from training.json), if recorded."""
    report = artifact_dir / REPORT_FILE
    if not report.is_file():
        return None
    settings = json.loads(report.read_text(encoding="utf-8"))["settings"]
    if settings.get("all_data"):
        raise ValueError(f"{artifact_dir} was trained on every record (--all-data): nothing is held out to evaluate")
    return SplitSpec.from_dict(settings["split"])


def selector_scores(
    artifact_dir: Path, table: PerformanceTable, features: np.ndarray, prompt_tokens: np.ndarray,
    settings: EvalSettings, pricing: Mapping[str, Price] | None = None, refused: dict[str, str] | None = None,
) -> dict[str, np.ndarray]:
    """Per selector found in `artifact_dir`: (queries, models) scores in the table's model order.

    A selector that cannot run on this data (multi_factor without any price) goes into `refused`
    with the reason, or raises ValueError when `refused` is None.
    """
    found: dict[str, np.ndarray] = {}

    def path(name: str) -> Path | None:
        p = artifact_dir / ARTIFACT_FILES[name]
        return p if p.is_file() else None

    def add(name: str, scorer: Any) -> None:
        found[name] = _columns(calibrated_scores(scorer, features), scorer.models, table)

    try:
        if p := path("knn"):
            knn = KnnScorer.load(p, settings.knn_k or int(_trained(p, "knn").get("k", 100)))
            add(f"knn (k={knn.k})", knn)
        if p := path("kmeans"):
            km = KmeansScorer.load(p, settings.efficiency_weight)
            add(f"kmeans ({len(km.centers)} clusters)", km)
        if p := path("svm"):
            svm = SvmScorer.load(p)
            add(f"svm ({svm.kernel})", svm)
        if p := path("mlp"):
            mlp = MlpScorer(p)
            add(f"mlp {tuple(mlp.hidden_dims)}", mlp)
        if p := path("qos"):
            qos = QosScorer.load(p)
            add(f"qos (criticality: {qos.meta.settings['criticality']})", qos)
        if p := path("multi_factor"):
            try:
                found["multi_factor"] = _multi_factor(ProfileArtifact.load(p), table, prompt_tokens, settings, pricing)
            except ValueError as exc:
                if refused is None:
                    raise
                refused["multi_factor"] = f"not scored: {exc} (eval's --config)"
        if p := path("threshold"):
            th = ThresholdScorer.load(p)
            win = th.strong_win(features)
            scores = np.zeros((len(win), 2))
            scores[:, table.model_index(th.strong)] = win
            scores[:, table.model_index(th.weak)] = th.threshold_for(settings.strong_share)
            found[f"threshold (strong_share {settings.strong_share:g})"] = scores
    except ArtifactError as exc:
        raise ValueError(str(exc)) from None
    return found


def _trained(path: Path, algorithm: str) -> dict[str, Any]:
    from llmswitch.selection.artifact import load_npz

    return load_npz(path, algorithm)[0].settings


def _multi_factor(profile: ProfileArtifact, table: PerformanceTable, prompt_tokens: np.ndarray,
                  settings: EvalSettings, pricing: Mapping[str, Price] | None) -> np.ndarray:
    prices = {m: Pricing(input_per_1m=p.input_per_1m, output_per_1m=p.output_per_1m)
              for m, p in (pricing or {}).items() if m in table.models}
    weights = settings.factor_weights
    if not table.latency_known and weights.latency > 0:
        weights = weights.model_copy(update={"latency": 0.0})
    scorer = MultiFactorScorer(table.models, profile.profiles, {m: prices.get(m) for m in table.models}, {}, weights)
    return np.stack([scorer.scores(int(t))[0] for t in prompt_tokens])

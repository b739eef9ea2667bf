"""`svm`: one-vs-rest support vector machines, one per model ("is this model the best?").

With two models a single machine decides, and the other model's decision is its negation.

Features are projected onto the training set's principal components first. The artifact holds
each machine's support vectors and dual coefficients (RBF) or its weight vector (linear); the
decision function is evaluated in numpy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.config.algorithms import SvmAlgorithm
from llmswitch.selection.artifact import ArtifactError, ArtifactMeta, config_error, load_checked, load_npz, save_npz
from llmswitch.selection.base import SelectorContext
from llmswitch.selection.learned import ScoredSelector

ALGORITHM = "svm"


@dataclass
class SvmScorer:
    meta: ArtifactMeta
    mean: np.ndarray
    basis: np.ndarray
    support: list[np.ndarray]
    """Per machine: (vectors, components) for rbf, (1, components) weights for linear."""
    coef: list[np.ndarray]
    """Per machine: dual coefficients (rbf) or [1.0] (linear)."""
    intercept: np.ndarray
    """Per model. Two models share one machine: the second model's decision is the negated first."""

    def __post_init__(self) -> None:
        self._norms = [(vectors**2).sum(axis=1) for vectors in self.support]

    @property
    def models(self) -> tuple[str, ...]:
        return self.meta.models

    @property
    def kernel(self) -> str:
        return str(self.meta.settings["kernel"])

    @property
    def gamma(self) -> float:
        return float(self.meta.settings["gamma"])

    def scores(self, features: np.ndarray) -> np.ndarray:
        z = (np.asarray(features, np.float32) - self.mean) @ self.basis
        columns = []
        for vectors, coef, norms in zip(self.support, self.coef, self._norms, strict=True):
            if self.kernel == "linear":
                columns.append(z @ vectors[0])
            else:
                sq = (z**2).sum(axis=1)[:, None] + norms[None, :] - 2.0 * z @ vectors.T
                columns.append(np.exp(-self.gamma * np.maximum(sq, 0.0)) @ coef)
        if len(columns) == 1 and len(self.models) == 2:
            columns.append(-columns[0])
        return np.stack(columns, axis=1) + self.intercept

    def save(self, path: Path) -> Path:
        arrays = {"mean": self.mean, "basis": self.basis, "intercept": self.intercept}
        for j, (vectors, coef) in enumerate(zip(self.support, self.coef, strict=True)):
            arrays[f"support{j}"], arrays[f"coef{j}"] = vectors, coef
        return save_npz(path, self.meta, arrays)

    @classmethod
    def load(cls, path: Path) -> SvmScorer:
        meta, a = load_npz(path, ALGORITHM)
        try:
            n = 1 if meta.settings.get("binary") else len(meta.models)
            return cls(meta, a["mean"], a["basis"], [a[f"support{j}"] for j in range(n)],
                       [a[f"coef{j}"] for j in range(n)], a["intercept"])
        except KeyError as exc:
            raise ArtifactError(f"{path} lacks array {exc}") from None


class SvmSelector(ScoredSelector):
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext) -> None:
        params = context.decision.algorithm
        assert isinstance(params, SvmAlgorithm)
        scorer = load_checked(context, "svm", params.svm.artifact, SvmScorer.load)
        if params.svm.kernel is not None and params.svm.kernel != scorer.kernel:
            raise config_error(context, "svm.kernel", f"{params.svm.kernel!r} asked, the artifact is {scorer.kernel!r}; "
                               f"retrain with `llmswitch train selectors --svm-kernel {params.svm.kernel}`")
        if params.svm.gamma is not None and scorer.kernel == "rbf" and not np.isclose(params.svm.gamma, scorer.gamma):
            raise config_error(context, "svm.gamma", f"{params.svm.gamma} asked, the artifact has {scorer.gamma}; "
                               f"retrain with `llmswitch train selectors --svm-gamma {params.svm.gamma}`")
        super().__init__(scorer)

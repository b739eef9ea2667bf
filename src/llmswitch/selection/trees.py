"""Gradient-boosted regression trees evaluated in numpy, so the router needs no scikit-learn.

Trees are trained offline (`llmswitch.training.trees` exports scikit-learn's
HistGradientBoostingRegressor) and stored as flat node arrays; a prediction is the baseline
plus every tree's leaf value, walked level by level for all trees at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

FIELDS = ("feature", "threshold", "left", "right", "value", "leaf", "roots", "info")


@dataclass(frozen=True)
class TreeEnsemble:
    feature: np.ndarray
    """(nodes,) int32 split feature of each node."""
    threshold: np.ndarray
    """(nodes,) float64 (as trained): go left when x[feature] <= threshold."""
    left: np.ndarray
    """(nodes,) int32 absolute index of the left child."""
    right: np.ndarray
    value: np.ndarray
    """(nodes,) float32 leaf value (unused for inner nodes)."""
    leaf: np.ndarray
    """(nodes,) bool"""
    roots: np.ndarray
    """(trees,) int32 index of each tree's root node."""
    baseline: float
    depth: int
    """Longest root-to-leaf path (number of splits)."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n,) predictions for (n, features) rows."""
        x = np.asarray(x, np.float32)
        node = np.broadcast_to(self.roots, (len(x), len(self.roots))).copy()
        rows = np.arange(len(x))[:, None]
        for _ in range(self.depth):
            go_left = x[rows, self.feature[node]] <= self.threshold[node]
            child = np.where(go_left, self.left[node], self.right[node])
            node = np.where(self.leaf[node], node, child)
        return self.baseline + self.value[node].sum(axis=1, dtype=np.float64)

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        info = np.array([self.baseline, float(self.depth)])
        values = (self.feature, self.threshold, self.left, self.right, self.value, self.leaf, self.roots, info)
        return {f"{prefix}.{name}": array for name, array in zip(FIELDS, values, strict=True)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> TreeEnsemble:
        a = {name: arrays[f"{prefix}.{name}"] for name in FIELDS}  # KeyError names a missing array
        return cls(a["feature"].astype(np.int32), a["threshold"].astype(np.float64), a["left"].astype(np.int32),
                   a["right"].astype(np.int32), a["value"].astype(np.float32), a["leaf"].astype(bool),
                   a["roots"].astype(np.int32), float(a["info"][0]), int(a["info"][1]))

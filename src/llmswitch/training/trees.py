"""Gradient-boosted regressors for the qos selector: fit, early-stop, score, export to numpy trees.

Each target is fitted with scikit-learn's HistGradientBoostingRegressor on the fitting part of
the training split, stopped early on the validation part (the iteration count with the lowest
validation loss), scored there (MAE and R² in the target's own units), then refitted on the whole
training split for that many iterations. A target may be fitted in log space (latency; the qos
trainer keeps whichever variant has the lower validation MAE in seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from llmswitch.selection.trees import TreeEnsemble

MAX_ITER = 300
LOG_FLOOR_S = 0.05


@dataclass(frozen=True)
class Fitted:
    trees: TreeEnsemble
    log: bool
    report: dict[str, Any]
    val_predictions: np.ndarray
    """Predictions of the fit-only model on the validation rows, in the target's units."""


def export(model: Any) -> TreeEnsemble:
    """Flat node arrays of a fitted HistGradientBoostingRegressor (numeric features only)."""
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("feature", "threshold", "left", "right", "value", "leaf")}
    roots, offset, depth = [], 0, 0
    for iteration in model._predictors:
        nodes = iteration[0].nodes
        if nodes["is_categorical"].any():
            raise ValueError("categorical splits are not supported")
        roots.append(offset)
        parts["feature"].append(nodes["feature_idx"].astype(np.int32))
        parts["threshold"].append(nodes["num_threshold"].astype(np.float64))
        parts["left"].append((nodes["left"] + offset).astype(np.int32))
        parts["right"].append((nodes["right"] + offset).astype(np.int32))
        parts["value"].append(nodes["value"].astype(np.float32))
        parts["leaf"].append(nodes["is_leaf"].astype(bool))
        depth = max(depth, int(nodes["depth"].max()))
        offset += len(nodes)
    joined = {k: np.concatenate(v) if v else np.zeros(0) for k, v in parts.items()}
    return TreeEnsemble(joined["feature"].astype(np.int32), joined["threshold"].astype(np.float64),
                        joined["left"].astype(np.int32), joined["right"].astype(np.int32),
                        joined["value"].astype(np.float32), joined["leaf"].astype(bool),
                        np.array(roots, np.int32), float(np.ravel(model._baseline_prediction)[0]), depth)


def _regressor(seed: int, iterations: int, early: bool):
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(
        learning_rate=0.1, max_iter=iterations, max_leaf_nodes=15, min_samples_leaf=20, l2_regularization=1.0,
        early_stopping=early, validation_fraction=None, n_iter_no_change=20, tol=1e-4, random_state=seed)


def mae_r2(truth: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    mae = float(np.mean(np.abs(truth - predicted)))
    spread = float(np.sum((truth - truth.mean()) ** 2))
    r2 = 1.0 - float(np.sum((truth - predicted) ** 2)) / spread if spread > 0 else 0.0
    return mae, r2


def fit_target(x_fit: np.ndarray, y_fit: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int,
               log: bool = False) -> Fitted:
    """Fit one target (see the module docstring); without validation rows, 100 iterations, no report.

    One thread: on a shared machine OpenMP's spinning threads cost more than they gain here.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return _fit_target(x_fit, y_fit, x_val, y_val, seed, log)


def _fit_target(x_fit: np.ndarray, y_fit: np.ndarray, x_val: np.ndarray, y_val: np.ndarray, seed: int,
                log: bool) -> Fitted:
    transform = (lambda y: np.log(np.maximum(y, LOG_FLOOR_S))) if log else (lambda y: y)
    x_all, y_all = np.vstack([x_fit, x_val]), np.concatenate([y_fit, y_val])
    if len(y_val) == 0:
        return Fitted(export(_regressor(seed, 100, False).fit(x_all, transform(y_all))), log, {}, np.zeros(0))
    model = _regressor(seed, MAX_ITER, True).fit(x_fit, transform(y_fit), X_val=x_val, y_val=transform(y_val))
    predicted = np.exp(model.predict(x_val)) if log else model.predict(x_val)
    mae, r2 = mae_r2(y_val, predicted)
    iterations = int(model.n_iter_)
    final = _regressor(seed, iterations, False).fit(x_all, transform(y_all))
    baseline_mae, _ = mae_r2(y_val, np.full(len(y_val), y_fit.mean()))
    report = {"validation_mae": round(mae, 4), "validation_r2": round(r2, 4), "iterations": iterations,
              "log_target": log, "mean_predictor_mae": round(baseline_mae, 4)}
    return Fitted(export(final), log, report, predicted)

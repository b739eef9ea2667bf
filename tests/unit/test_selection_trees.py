"""Gradient-boosted trees exported from scikit-learn predict the same in numpy."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from llmswitch.selection.trees import TreeEnsemble
from llmswitch.training.trees import _regressor, export, fit_target


def test_exported_trees_match_scikit_learn_and_survive_a_round_trip():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(600, 6)).astype(np.float32)
    y = np.exp(x[:, 0]) + x[:, 1] ** 2 + rng.normal(scale=0.1, size=600)
    with threadpool_limits(1):  # as training does: OpenMP threads only cost time on a shared machine
        model = _regressor(0, 40, False).fit(x, y)
    trees = export(model)
    assert np.allclose(trees.predict(x), model.predict(x), atol=1e-6)
    again = TreeEnsemble.from_arrays(trees.to_arrays("t"), "t")
    assert np.array_equal(again.predict(x), trees.predict(x))


def test_early_stopping_and_log_target_report_validation_figures():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(800, 4))
    latency = np.exp(0.5 * x[:, 0] + rng.normal(scale=0.2, size=800))
    plain = fit_target(x[:600], latency[:600], x[600:], latency[600:], seed=0)
    logged = fit_target(x[:600], latency[:600], x[600:], latency[600:], seed=0, log=True)
    for fitted in (plain, logged):
        assert 0 < fitted.report["iterations"] <= 300 and fitted.report["validation_r2"] > 0.5
        assert fitted.report["validation_mae"] < fitted.report["mean_predictor_mae"]
    assert logged.log and np.all(np.exp(logged.trees.predict(x[600:])) > 0)

"""Offline training and evaluation of selectors on synthetic benchmark records."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from llmswitch.selection.knn import KnnScorer
from llmswitch.selection.qos import QosScorer
from llmswitch.training import evaluate as evaluate_cli
from llmswitch.training import selectors as selectors_cli
from llmswitch.training.benchmark import write_records
from llmswitch.training.evaluate import evaluate_selectors
from llmswitch.training.metrics import apgr, performance_table
from llmswitch.training.scoring import score
from llmswitch.training.selectors import TrainSettings, train_selectors
from tests.unit.test_selection_learned import STRONG, WEAK, featurize, synthetic_records

NO_MLP = TrainSettings(kmeans_clusters=4, components=4,
                       algorithms=("knn", "kmeans", "svm", "qos", "multi_factor", "threshold"))


def test_training_is_reproducible_and_uses_the_train_split_only(tmp_path):
    records = synthetic_records()
    first = train_selectors(records, tmp_path / "a", featurize, NO_MLP)
    second = train_selectors(records, tmp_path / "b", featurize, NO_MLP)
    assert set(first) == set(NO_MLP.algorithms)
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
    knn = KnnScorer.load(first["knn"])
    assert len(knn.points) == len(performance_table(records, "train").query_ids) < len(records) // 2
    assert knn.meta.settings["train_queries"] == len(knn.points)


def test_limit_takes_a_seeded_subset(tmp_path):
    written = train_selectors(synthetic_records(), tmp_path, featurize,
                              TrainSettings(limit=50, components=4, algorithms=("knn",)))
    assert len(KnnScorer.load(written["knn"]).points) == 50


def test_qos_uses_judged_criticality_when_every_record_has_it(tmp_path):
    records = synthetic_records(80)
    rows = [{**r.model_dump(), "mission_criticality": 9.0 if r.query.startswith("hard") else 1.0,
             "time_criticality": 2.0} for r in records]
    data = tmp_path / "bench.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    written = train_selectors(records, tmp_path / "art", featurize, TrainSettings(algorithms=("qos",)), source=data)
    qos = QosScorer.load(written["qos"])
    assert qos.meta.settings["criticality"] == "judged"
    _, _, mc, tc = qos.predict(featurize(["hard one", "easy one"]))
    assert mc[0] > 6 > 3 > mc[1] and np.allclose(tc, 2.0, atol=0.5)
    constant = train_selectors(records, tmp_path / "c", featurize, TrainSettings(algorithms=("qos",)))
    assert QosScorer.load(constant["qos"]).meta.settings["criticality"] == "constant"


def test_evaluation_reports_every_selector_against_the_baselines(tmp_path):
    records = synthetic_records(400)
    train_selectors(records, tmp_path, featurize, NO_MLP)
    report = evaluate_selectors(records, tmp_path, featurize, plot_dir=tmp_path / "img")
    names = [r.name for r in report.results]
    assert names[:4] == ["oracle", "random (expected)", STRONG, WEAK]
    assert any(n.startswith("knn") for n in names) and any(n.startswith("threshold") for n in names)
    curves = {c.name: c for c in report.curves}
    assert apgr(curves["random (expected)"]) == pytest.approx(0.5)
    # hard prompts are separable, so a good router comes close to the oracle
    assert apgr(curves["knn (k=100)"]) > 0.95 * apgr(curves["oracle scores"])
    text = report.markdown()
    assert "| llm |" in text and "| budget |" in text and "APGR" in text
    assert (tmp_path / "img" / "quality_vs_cost.png").stat().st_size > 0
    assert (tmp_path / "img" / "quality_vs_strong_share.png").stat().st_size > 0


def test_three_models_get_aiq(tmp_path):
    records = synthetic_records(200, (STRONG, WEAK, "mid-model"))
    train_selectors(records, tmp_path, featurize, NO_MLP)
    report = evaluate_selectors(records, tmp_path, featurize)
    assert not report.curves
    assert set(report.aiq) >= {"knn (k=100)", "svm (rbf)"}
    assert all(0.0 <= v <= 1.0 for v in report.aiq.values())


def test_cli_functions(tmp_path, monkeypatch, capsys):
    data = write_records(synthetic_records(120), tmp_path / "bench.jsonl")
    monkeypatch.setattr("llmswitch.training.features.feature_lookup", lambda queries, *a, **k: featurize)
    parser = argparse.ArgumentParser()
    selectors_cli.add_arguments(parser)
    args = parser.parse_args(["--data", str(data), "--out", str(tmp_path / "art"), "--algorithms", "knn,svm",
                              "--knn-k", "3", "--svm-kernel", "linear"])
    assert selectors_cli.run(args) == 0
    assert sorted(p.name for p in (tmp_path / "art").iterdir()) == ["knn.npz", "svm.npz"]
    parser = argparse.ArgumentParser()
    evaluate_cli.add_arguments(parser)
    out = tmp_path / "eval.md"
    assert evaluate_cli.run(parser.parse_args(["--data", str(data), "--artifacts", str(tmp_path / "art"),
                                               "--out", str(out), "--name", "synthetic"])) == 0
    assert out.read_text().startswith("### synthetic (eval split)") and "svm (linear)" in out.read_text()


@pytest.mark.parametrize(
    ("metric", "response", "truth", "choices", "expected"),
    [
        ("em_mc", "The answer is (C).", "C", (), 1.0),
        ("em_mc", "B. Paris", "Paris", ("London", "Paris"), 1.0),
        ("em_mc", "A", "B", (), 0.0),
        ("gsm8k", "so she pays 1,250 dollars. #### 1250", "1250", (), 1.0),
        ("gsm8k", "about 12", "13", (), 0.0),
        ("math", "thus \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}", (), 1.0),
        ("math", "it is 0.5", "0.50", (), 1.0),
        ("f1", "the cat sat", "cat sat down", (), pytest.approx(0.8)),
        (None, "Hello from small-model.", "small-model", (), 1.0),
        ("cem", "Hello from large-model.", "small-model", (), 0.0),
    ],
)
def test_scoring_metrics(metric, response, truth, choices, expected):
    assert score(metric, response, truth, choices) == expected

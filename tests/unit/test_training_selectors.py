"""Offline training and evaluation of selectors on synthetic benchmark records."""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from llmswitch.selection.knn import KnnScorer
from llmswitch.selection.learned import operating_offset
from llmswitch.selection.qos import QosScorer
from llmswitch.training import evaluate as evaluate_cli
from llmswitch.training import selectors as selectors_cli
from llmswitch.training.benchmark import read_records, write_records
from llmswitch.training.costaware import arena_score
from llmswitch.training.evaluate import evaluate_selectors
from llmswitch.training.llm_eval import LlmRouter
from llmswitch.training.metrics import apgr, performance_table
from llmswitch.training.selectors import TrainSettings, train_folds, train_selectors
from llmswitch.training.split import SplitSpec
from tests.unit.test_selection_learned import STRONG, WEAK, featurize, synthetic_records

DATA = Path(__file__).parent.parent / "data"
NO_MLP = TrainSettings(kmeans_clusters=4, components=4,
                       algorithms=("knn", "kmeans", "svm", "qos", "multi_factor", "threshold"))


def words(queries) -> np.ndarray:
    """Hashed bag of words (32 dims) plus 14 zero domain dims: topic words make queries separable."""
    rows = np.zeros((len(queries), 46), np.float32)
    for i, query in enumerate(queries):
        for word in query.lower().split():
            rows[i, int(hashlib.sha256(word.encode()).hexdigest(), 16) % 32] += 1.0
    rows[:, :32] /= np.maximum(np.linalg.norm(rows[:, :32], axis=1, keepdims=True), 1e-9)
    return rows


def test_training_is_reproducible_and_uses_the_train_split_only(tmp_path):
    records = synthetic_records()
    first = train_selectors(records, tmp_path / "a", featurize, NO_MLP)
    second = train_selectors(records, tmp_path / "b", featurize, NO_MLP)
    assert set(first) == set(NO_MLP.algorithms)
    for name, path in first.items():
        assert path.read_bytes() == second[name].read_bytes(), name
    assert (tmp_path / "a" / "training.json").read_bytes() == (tmp_path / "b" / "training.json").read_bytes()
    knn = KnnScorer.load(first["knn"])
    assert len(knn.points) == len(performance_table(records, "train").query_ids) < len(records) // 2
    assert knn.meta.settings["train_queries"] == len(knn.points)


def test_limit_takes_a_seeded_subset(tmp_path):
    written = train_selectors(synthetic_records(), tmp_path, featurize,
                              TrainSettings(limit=50, components=4, algorithms=("knn",)))
    assert len(KnnScorer.load(written["knn"]).points) == 50


def test_qos_uses_gradient_boosted_trees_and_judged_criticality(tmp_path):
    records = synthetic_records(300)
    rows = [{**r.model_dump(), "mission_criticality": 9.0 if r.query.startswith("hard") else 1.0,
             "time_criticality": 2.0} for r in records]
    data = tmp_path / "bench.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in rows))
    written = train_selectors(records, tmp_path / "art", featurize, TrainSettings(algorithms=("qos",)), source=data)
    qos = QosScorer.load(written["qos"])
    assert qos.meta.settings["criticality"] == "judged" and qos.meta.settings["regressors"] == "gradient-boosted trees"
    quality, latency, mc, tc = qos.predict(featurize(["hard one", "easy one"]))
    assert mc[0] > 6 > 3 > mc[1] and np.allclose(tc, 2.0, atol=0.5)
    assert quality[0, 0] > 80 > 20 > quality[0, 1] and latency is not None
    report = json.loads((tmp_path / "art" / "training.json").read_text())["selectors"]["qos"]["regressors"]
    assert {"validation_mae", "validation_r2", "iterations", "log_target"} <= set(report[f"quality[{STRONG}]"])
    assert report[f"quality[{WEAK}]"]["validation_r2"] > 0.9


def test_evaluation_reports_every_selector_against_the_baselines(tmp_path):
    records = synthetic_records(400)
    train_selectors(records, tmp_path, featurize, NO_MLP)
    report = evaluate_selectors(records, tmp_path, featurize, plot_dir=tmp_path / "img")
    rows = report.figures.rows
    assert list(rows)[:4] == ["oracle", "random (expected)", STRONG, WEAK]
    curves = {c.name: c for c in report.curves}
    assert apgr(curves["random (expected)"]) == pytest.approx(0.5)
    # hard prompts are separable, so a good router comes close to the oracle
    assert apgr(curves["knn (k=100)"]) > 0.95 * apgr(curves["oracle scores"])
    knn = rows["knn (k=100)"]
    assert knn["beats_best"] == 1.0 and knn["cost_at_equal_quality"] < 0.7 and knn["aiq_gain"] > 0.05
    assert rows[STRONG]["cost_per_1k"] == pytest.approx(10.0)  # $0.01 a query
    text = report.markdown()
    assert "| llm |" in text and "| budget |" in text and "APGR" in text and "RouterArena" in text
    assert "expensive model: strong-model" in text and "not the priciest" not in text
    for plot in ("quality_vs_cost", "quality_vs_latency", "quality_vs_strong_share"):
        assert (tmp_path / "img" / f"{plot}.png").stat().st_size > 0


def test_three_models_get_cost_aware_figures(tmp_path):
    records = synthetic_records(200, (STRONG, WEAK, "mid-model"))
    train_selectors(records, tmp_path, featurize, NO_MLP)
    report = evaluate_selectors(records, tmp_path, featurize)
    assert not report.curves
    for name in ("knn (k=100)", "svm (rbf)"):
        row = report.figures.rows[name]
        assert 0.0 <= row["aiq"] <= 1.0 and row["quality"] >= report.figures.rows[WEAK]["quality"]
    assert "AIQ − single models' AIQ" in report.markdown()


def test_the_better_model_being_the_cheaper_one(tmp_path):
    """Issue shape: two models, the better one 20x cheaper, labels mostly that model, no latency."""
    records = read_records(DATA / "cheap_better.jsonl")
    settings = TrainSettings(components=8, algorithms=("knn", "qos", "multi_factor"), split=SplitSpec(eval_share=0.3))
    train_selectors(records, tmp_path / "argmax", words, replace(settings, operating_point="argmax"))
    train_selectors(records, tmp_path / "utility", words, settings)
    argmax = evaluate_selectors(records, tmp_path / "argmax", words).figures
    report = evaluate_selectors(records, tmp_path / "utility", words)
    rows = report.figures.rows
    assert argmax.shares["knn (k=100)"]["atlas-large"] == 0.0  # uncalibrated: stuck on the majority label
    assert rows["knn (k=100)"]["quality"] > rows["swift-mini"]["quality"] + 0.03  # calibrated: proofs go large
    assert 0.0 < report.figures.shares["knn (k=100)"]["atlas-large"] < 0.5
    text = report.markdown()
    assert "Strong model: swift-mini" in text and "expensive model: atlas-large" in text and "not the priciest" in text
    assert np.isnan(rows["swift-mini"]["qos"])  # no latency in the data
    assert rows["multi_factor"]["quality"] == rows["swift-mini"]["quality"]  # priced from the records' cost
    assert QosScorer.load(tmp_path / "utility" / "qos.npz").latency is None  # no 1/L term without latency


def test_multi_factor_without_any_cost_is_refused_loudly(tmp_path):
    rows = [json.loads(line) for line in (DATA / "cheap_better.jsonl").read_text().splitlines()]
    data = tmp_path / "nocost.jsonl"
    data.write_text("".join(json.dumps({k: v for k, v in r.items() if k != "cost"}) + "\n" for r in rows))
    records = read_records(data)
    train_selectors(records, tmp_path / "art", words, TrainSettings(algorithms=("knn", "multi_factor")))
    report = evaluate_selectors(records, tmp_path / "art", words)
    assert "multi_factor" not in report.figures.rows and "knn (k=100)" in report.figures.rows
    assert "| multi_factor | not scored: no price for [" in report.markdown()
    assert "give models[].pricing" in report.markdown()
    assert np.isnan(report.figures.rows["knn (k=100)"]["arena"])  # no cost, no RouterArena score


def test_match_best_operating_point_keeps_the_best_quality_for_less(tmp_path):
    records = synthetic_records(400)
    settings = TrainSettings(components=4, algorithms=("svm",), operating_point="match-best")
    train_selectors(records, tmp_path, featurize, settings)
    point = json.loads((tmp_path / "training.json").read_text())["selectors"]["svm"]
    assert point["objective"] == "match-best"
    assert point["validation"]["quality"] >= point["validation"]["best_single_quality"]
    assert point["validation"]["cost"] < point["validation"]["best_single_cost"]


def test_k_folds_train_one_set_per_fold_and_eval_reports_their_spread(tmp_path):
    records = synthetic_records(300)
    settings = TrainSettings(components=4, algorithms=("knn",), split=SplitSpec(folds=3))
    written = train_folds(records, tmp_path, featurize, settings)
    assert sorted(written) == ["fold-0/knn", "fold-1/knn", "fold-2/knn"]
    report = evaluate_selectors(records, tmp_path, featurize)
    assert len(report.splits) == 3
    assert "3 folds" in report.markdown() and "over 3 folds" in report.markdown()
    assert report.figures.spread["knn (k=100)"]["quality"] >= 0.0


def test_cli_functions_from_eval_and_errors(tmp_path, monkeypatch, capsys):
    data = write_records(synthetic_records(120), tmp_path / "bench.jsonl")
    monkeypatch.setattr("llmswitch.training.features.feature_lookup", lambda queries, *a, **k: featurize)

    def cli(module, argv):
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        return module.run(parser.parse_args(argv))

    assert cli(selectors_cli, ["--data", str(data), "--out", str(tmp_path / "art"), "--algorithms", "knn,svm",
                               "--knn-k", "3", "--svm-kernel", "linear", "--eval-share", "0.3",
                               "--split-seed", "2"]) == 0
    assert sorted(p.name for p in (tmp_path / "art").iterdir()) == ["knn.npz", "svm.npz", "training.json"]
    out = tmp_path / "eval.md"
    assert cli(evaluate_cli, ["--data", str(data), "--artifacts", str(tmp_path / "art"), "--out", str(out),
                              "--name", "synthetic"]) == 0
    text = out.read_text()
    assert text.startswith("### synthetic") and "svm (linear)" in text and "30% eval, seed 2" in text
    # evaluating on another split than the training one would leak
    assert cli(evaluate_cli, ["--data", str(data), "--artifacts", str(tmp_path / "art"), "--split-seed", "0"]) == 2
    assert "would score queries it learnt from" in capsys.readouterr().err
    # deployment: the same settings on every record
    assert cli(selectors_cli, ["--data", str(data), "--out", str(tmp_path / "deploy"),
                               "--from-eval", str(tmp_path / "art")]) == 0
    deployed = KnnScorer.load(tmp_path / "deploy" / "knn.npz")
    assert deployed.meta.settings["all_data"] and len(deployed.points) == 120 and deployed.meta.settings["k"] == 3
    assert cli(evaluate_cli, ["--data", str(data), "--artifacts", str(tmp_path / "deploy")]) == 2
    assert "nothing is held out" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text(data.read_text() + '{"query": "q", "model_name": "m", "performance": 1.7}\n')
    assert cli(selectors_cli, ["--data", str(bad), "--out", str(tmp_path / "x")]) == 2
    assert f"{bad}:241: performance: Input should be less than or equal to 1" in capsys.readouterr().err


class RouterModel(BaseHTTPRequestHandler):
    """A stub OpenAI-compatible router model: answers the strong model for prompts starting with "hard"."""

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        schema = body["response_format"]["json_schema"]["schema"]["properties"]["model"]["enum"]
        user = body["messages"][-1]["content"]
        choice = STRONG if user.startswith("hard") else WEAK
        assert choice in schema
        reply = {"id": "r1", "object": "chat.completion", "created": 0, "model": body["model"],
                 "choices": [{"index": 0, "finish_reason": "stop",
                              "message": {"role": "assistant", "content": json.dumps({"model": choice})}}],
                 "usage": {"prompt_tokens": 100, "completion_tokens": 8, "total_tokens": 108}}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def test_llm_selector_is_scored_offline_against_a_router_model(tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), RouterModel)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        records = synthetic_records(200)
        train_selectors(records, tmp_path, featurize, TrainSettings(components=4, algorithms=("knn",)))
        router = LlmRouter(f"http://127.0.0.1:{server.server_address[1]}/v1", "stub-router", concurrency=4)
        report = evaluate_selectors(records, tmp_path, featurize, llm=router)
    finally:
        server.shutdown()
    row = report.figures.rows["llm (stub-router)"]
    assert row["quality"] == 1.0 and row["best_chosen"] == 1.0
    assert "llm router stub-router: {'ok':" in report.markdown() and "| llm |" not in report.markdown()


def test_router_arena_score_follows_the_published_formula():
    c = (np.log2(200) - np.log2(1.0)) / (np.log2(200) - np.log2(0.0044))
    assert arena_score(0.8, 1.0) == pytest.approx(1.1 * 0.8 * c / (0.1 * 0.8 + c))
    assert arena_score(0.8, 0.0044) == pytest.approx(1.1 * 0.8 / (0.08 + 1))
    assert np.isnan(arena_score(0.8, 0.0))


def test_calibrated_offset_is_applied_by_the_runtime_selector(tmp_path):
    records = read_records(DATA / "cheap_better.jsonl")
    written = train_selectors(records, tmp_path, words, TrainSettings(components=8, algorithms=("knn",),
                                                                      split=SplitSpec(eval_share=0.3)))
    knn = KnnScorer.load(written["knn"])
    assert np.any(operating_offset(knn.meta) != 0)

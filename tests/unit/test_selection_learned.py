"""Learned selectors on tiny synthetic data: hard prompts need the strong model, easy ones do not."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest

from llmswitch.budget import BudgetGuard, MemoryStore
from llmswitch.config import ConfigError, parse_config
from llmswitch.protocols.openai_chat import parse_chat
from llmswitch.request import RouteRequest, Semantics, SemanticsRequired
from llmswitch.selection import SelectorContext, build_selector
from llmswitch.training.benchmark import BenchmarkRecord
from llmswitch.training.selectors import ARTIFACT_FILES, TrainSettings, train_selectors

DIM = 8
STRONG, WEAK = "strong-model", "weak-model"
FAST = TrainSettings(kmeans_clusters=4, components=4, mlp_hidden_dims=(16,), mlp_epochs=40, mlp_lr=1e-2)


def embedding(text: str) -> np.ndarray:
    """Hard prompts point along axis 0, easy ones along axis 1, plus a little text-seeded noise."""
    seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")
    v = np.random.default_rng(seed).normal(0, 0.1, DIM)
    v[0 if text.startswith("hard") else 1] += 1.0
    return (v / np.linalg.norm(v)).astype(np.float32)


def featurize(queries) -> np.ndarray:
    return np.hstack([np.stack([embedding(q) for q in queries]), np.zeros((len(queries), 14), np.float32)])


def synthetic_records(n: int = 240, models: tuple[str, ...] = (STRONG, WEAK)) -> list[BenchmarkRecord]:
    """Strong is right on every prompt; weak only on easy ones. Strong is pricier and slower."""
    records = []
    for i in range(n):
        query = f"{'hard' if i % 2 else 'easy'} question number {i}"
        for model in models:
            right = model == STRONG or query.startswith("easy")
            records.append(BenchmarkRecord(
                query=query, category="synthetic", model_name=model, performance=float(right),
                response_time=2.0 if model == STRONG else 1.0, prompt_tokens=10, completion_tokens=5,
                cost=0.01 if model == STRONG else 0.0002, query_id=query,
            ))
    return records


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("art")
    train_selectors(synthetic_records(), out, featurize, FAST)
    return out


def config_text(algorithm: dict, models=(STRONG, WEAK), **model_extra) -> str:
    import yaml

    data = {
        "version": "v1",
        "models": [
            {"name": STRONG, "endpoint": "127.0.0.1:9001", "pricing": {"input_per_1m": 10, "output_per_1m": 30},
             **model_extra.get(STRONG, {})},
            {"name": WEAK, "endpoint": "127.0.0.1:9002", "pricing": {"input_per_1m": 0.2, "output_per_1m": 0.2},
             **model_extra.get(WEAK, {})},
        ],
        "decisions": [{"name": "learned", "rules": {"type": "keyword", "name": "any"},
                       "modelRefs": [{"model": m} for m in models], "algorithm": algorithm}],
        "signals": {"keywords": [{"name": "any", "keywords": ["question"]}]},
        "default_model": WEAK,
    }
    if algorithm["type"] == "budget":  # the wrapper reads the daily spend the guard tracks
        data["budget"] = {"limits": [{"scope": "daily", "amount": 1000.0}]}
    return yaml.safe_dump(data)


def context(base_dir: Path, algorithm: dict, **kwargs) -> SelectorContext:
    loaded = parse_config(config_text(algorithm, **kwargs), str(base_dir / "config.yaml"))
    config = loaded.config
    return SelectorContext(config, config.decisions[0], 0, loaded.source, base_dir,
                           BudgetGuard(config.budget, MemoryStore()))


def request(text: str, semantics: bool = True) -> RouteRequest:
    chat = parse_chat({"model": "auto", "messages": [{"role": "user", "content": text}]}, "auto")
    return RouteRequest({}, chat, Semantics(embedding(text)) if semantics else None)


ALGORITHMS = {
    "knn": {"type": "knn", "knn": {"artifact": "knn.npz", "k": 5}},
    "kmeans": {"type": "kmeans", "kmeans": {"artifact": "kmeans.npz", "efficiency_weight": 0.1}},
    "svm": {"type": "svm", "svm": {"artifact": "svm.npz", "kernel": "rbf"}},
    "mlp": {"type": "mlp", "mlp": {"artifact": "mlp.onnx", "hidden_dims": [16]}},
    "qos": {"type": "qos", "qos": {"artifact": "qos.npz"}},
    "threshold": {"type": "threshold", "threshold": {"artifact": "threshold.npz", "strong_share": 0.5}},
}


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_hard_prompts_go_strong_and_easy_ones_weak(artifacts, name):
    selector = build_selector(context(artifacts, ALGORITHMS[name]))
    hard = [selector.select(request(f"hard new prompt {i}")).model for i in range(20)]
    easy = [selector.select(request(f"easy new prompt {i}")).model for i in range(20)]
    assert hard.count(STRONG) >= 18, hard
    assert easy.count(WEAK) >= 18, easy


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_selectors_need_semantics_and_answer_under_a_millisecond(artifacts, name):
    selector = build_selector(context(artifacts, ALGORITHMS[name]))
    with pytest.raises(SemanticsRequired):
        selector.select(request("hard prompt", semantics=False))
    r = request("hard prompt")
    selector.select(r)
    times = []
    for _ in range(200):
        start = time.perf_counter()
        selector.select(r)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 1e-3


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_missing_artifact_names_the_yaml_path(tmp_path, name):
    algorithm = ALGORITHMS[name]
    with pytest.raises(ConfigError) as err:
        build_selector(context(tmp_path, algorithm))
    (problem,) = err.value.problems
    assert problem.startswith(f"decisions[0].algorithm.{name}.artifact: file not found")


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_artifact_for_another_model_set_is_rejected(tmp_path_factory, name):
    other = ("strong-model", "other-model")
    out = tmp_path_factory.mktemp("other")
    records = synthetic_records(40, other)
    train_selectors(records, out, featurize, TrainSettings(kmeans_clusters=2, components=4, mlp_hidden_dims=(4,),
                                                           mlp_epochs=1, algorithms=(name,)))
    with pytest.raises(ConfigError, match=rf"{name}\.artifact: artifact was trained for models"):
        build_selector(context(out, ALGORITHMS[name]))


def test_artifact_of_another_algorithm_is_rejected(artifacts, tmp_path):
    (tmp_path / "knn.npz").write_bytes((artifacts / ARTIFACT_FILES["kmeans"]).read_bytes())
    with pytest.raises(ConfigError, match=r"knn\.artifact: artifact was trained for algorithm 'kmeans'"):
        build_selector(context(tmp_path, ALGORITHMS["knn"]))


def test_training_settings_in_the_config_must_match_the_artifact(artifacts):
    bad = [
        ({"type": "svm", "svm": {"artifact": "svm.npz", "kernel": "linear"}}, "svm.kernel"),
        ({"type": "kmeans", "kmeans": {"artifact": "kmeans.npz", "num_clusters": 99}}, "kmeans.num_clusters"),
        ({"type": "mlp", "mlp": {"artifact": "mlp.onnx", "hidden_dims": [32, 32]}}, "mlp.hidden_dims"),
    ]
    for algorithm, key in bad:
        with pytest.raises(ConfigError, match=rf"decisions\[0\]\.algorithm\.{key}:"):
            build_selector(context(artifacts, algorithm))


def test_threshold_follows_the_strong_share(artifacts):
    def strong_count(share: float) -> int:
        algorithm = {"type": "threshold", "threshold": {"artifact": "threshold.npz", "strong_share": share}}
        selector = build_selector(context(artifacts, algorithm))
        prompts = [f"{kind} prompt {i}" for i in range(20) for kind in ("hard", "easy")]
        return sum(selector.select(request(p)).model == STRONG for p in prompts)

    assert strong_count(0.0) == 0
    assert strong_count(1.0) == 40
    assert 12 <= strong_count(0.5) <= 28


def test_selection_details_carry_the_score(artifacts):
    selection = build_selector(context(artifacts, ALGORITHMS["threshold"])).select(request("hard prompt"))
    assert 0.5 < selection.details["strong_win_probability"] <= 1.0
    assert "threshold" in selection.details


class FakeAnalyzer:
    def __init__(self) -> None:
        self.calls = 0

    async def analyze(self, text: str) -> Semantics:
        self.calls += 1
        return Semantics(embedding(text))


async def test_pipeline_computes_semantics_once_for_a_learned_selector(artifacts):
    import orjson

    from llmswitch.pipeline import RoutingPipeline

    loaded = parse_config(config_text(ALGORITHMS["knn"]), str(artifacts / "config.yaml"))
    pipeline = RoutingPipeline(loaded)
    pipeline.router.analyzer = FakeAnalyzer()
    for text, model in (("hard question about physics", STRONG), ("easy question on greetings", WEAK)):
        body = orjson.dumps({"model": "auto", "messages": [{"role": "user", "content": text}]})
        plan = await pipeline.route_async({}, body)
        assert (plan.model.name, plan.algorithm) == (model, "knn")
    assert pipeline.router.analyzer.calls == 2

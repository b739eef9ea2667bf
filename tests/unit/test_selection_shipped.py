"""The selector artifacts shipped in the package: small, loadable by today's `artifact:` key, and used
by the demo and the learned-routing example config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from llmswitch.budget import BudgetGuard, MemoryStore
from llmswitch.config import load_config
from llmswitch.protocols.openai_chat import parse_chat
from llmswitch.request import RouteRequest, Semantics
from llmswitch.selection import SelectorContext, build_selector
from llmswitch.training.shipped import SETTINGS, shipped_dir

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = [ROOT / "deploy/examples/learned.yaml", ROOT / "src/llmswitch/demo/demo.yaml"]


def test_shipped_artifacts_are_small_and_record_how_they_were_trained():
    files = {p.name: p.stat().st_size for p in shipped_dir().iterdir()}
    assert {"knn.npz", "kmeans.npz", "svm.npz", "mlp.onnx", "qos.npz", "threshold.npz", "profile.json",
            "training.json"} <= set(files)
    assert sum(files.values()) < 6_000_000
    report = json.loads((shipped_dir() / "training.json").read_text())
    assert report["settings"]["operating_point"] == SETTINGS.operating_point == "match-best"
    assert report["settings"]["split"] == SETTINGS.split.to_dict()


def request(text: str, seed: int) -> RouteRequest:
    chat = parse_chat({"model": "auto", "messages": [{"role": "user", "content": text}]}, "auto")
    vector = np.random.default_rng(seed).normal(size=384).astype(np.float32)
    domains = np.eye(14, dtype=np.float32)[seed % 14]
    return RouteRequest({}, chat, Semantics(vector / np.linalg.norm(vector), domains))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_configs_route_with_the_shipped_artifacts(path):
    loaded = load_config(path)
    config = loaded.config
    learned = [(i, d) for i, d in enumerate(config.decisions) if d.algorithm.type not in ("static", "weighted")]
    assert learned
    for index, decision in learned:
        context = SelectorContext(config, decision, index, loaded.source, path.parent,
                                  BudgetGuard(config.budget, MemoryStore()))
        selector = build_selector(context)
        picks = {selector.select(request(f"prompt {i}", i)).model for i in range(20)}
        assert picks <= {ref.model for ref in decision.model_refs}

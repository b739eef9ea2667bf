"""Domain classifier: the MMLU-Pro grouping, the shipped head, and reproducible training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from llmswitch.inference.domain import DomainClassifier, DomainHead, shipped_head_path
from llmswitch.training.mmlu_categories import CATEGORIES, SUBJECT_CATEGORY, category_of


def test_every_mmlu_subject_maps_to_one_of_14_categories():
    assert len(SUBJECT_CATEGORY) == 57
    assert len(CATEGORIES) == 14 and list(CATEGORIES) == sorted(CATEGORIES)
    assert set(SUBJECT_CATEGORY.values()) == set(CATEGORIES)
    assert category_of("high_school_physics") == "physics"
    assert category_of("Professional Law") == "law"
    assert category_of("sociology") == "other"


def test_shipped_head_loads_small_and_consistent():
    path = shipped_head_path()
    assert path.stat().st_size < 2_000_000
    head = DomainHead.load(path)
    assert head.categories == CATEGORIES
    features, hidden = head.w1.shape
    assert head.b1.shape == (hidden,) and head.w2.shape == (hidden, len(CATEGORIES))
    assert features == (len(head.layer_means) + 1) * 384


def test_probabilities_are_a_distribution():
    classifier = DomainClassifier.load()
    rng = np.random.default_rng(0)
    features = rng.normal(size=(5, classifier.head.w1.shape[0])).astype(np.float32)
    probs = classifier.probabilities(features)
    assert probs.shape == (5, 14)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5) and (probs >= 0).all()


pytest.importorskip("onnxruntime")
pytest.importorskip("torch")


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """The default cache's model if it is current, else one export per test session."""
    from llmswitch.inference.export import (
        DEFAULT_LAYER_MEANS,
        default_output_dir,
        default_source_dir,
        ensure_embedding_model,
        is_current,
    )

    cached = default_output_dir()
    if is_current(cached, default_source_dir(), False, DEFAULT_LAYER_MEANS):
        return cached
    return ensure_embedding_model(out_dir=tmp_path_factory.getbasetemp() / "encoder")


@pytest.fixture(scope="module")
def embedder(model_dir):
    from llmswitch.inference.embedder import Embedder

    return Embedder(model_dir, device="cpu", intra_op_threads=1)


CLEAR_CASES = {
    "Solve for x: 3x + 7 = 22. What is the value of x?": "math",
    "Under the Fourth Amendment, is evidence obtained through an unlawful search admissible at trial?": "law",
    "Which organelle carries out photosynthesis in plant cells?": "biology",
    "What is the time complexity of binary search on a sorted array?": "computer science",
    "Balance the equation for the combustion of methane and name the products.": "chemistry",
    "How does an increase in the money supply affect inflation and interest rates?": "economics",
    "A ball is dropped from 20 m. Ignoring air resistance, how fast is it moving when it hits the ground?": "physics",
    "What are the first-line treatments for a patient with high blood pressure?": "health",
}


def test_clear_prompts_classify_correctly(embedder):
    classifier = DomainClassifier.load()
    classifier.check_encoder(embedder.manifest)
    predictions = classifier.classify(embedder.encode(list(CLEAR_CASES)))
    got = {text: p.category for text, p in zip(CLEAR_CASES, predictions, strict=True)}
    assert got == CLEAR_CASES
    for p in predictions:
        assert p.confidence == pytest.approx(float(p.probabilities.max()))
        assert p.probabilities.shape == (14,)


def test_training_is_deterministic_on_a_small_subset(embedder, tmp_path):
    from llmswitch.training.domain import load_mmlu, train_domain

    rows = [r for r in load_mmlu() if len(r["question"]) < 120][::200]
    first = train_domain(tmp_path / "a.npz", [embedder], rows, hidden=16, epochs=2)
    second = train_domain(tmp_path / "b.npz", [embedder], rows, hidden=16, epochs=2)
    assert first == second
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    head = DomainHead.load(tmp_path / "a.npz")
    assert head.w1.shape[1] == 16 and head.categories == CATEGORIES
    [scores] = first["eval"].values()
    assert scores["question"]["n"] > 0 and 0.0 <= scores["question"]["accuracy"] <= 1.0

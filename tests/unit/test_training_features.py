"""The embedding cache: per prompt, reused across data sets, splits and --domain settings."""

from __future__ import annotations

import numpy as np
import pytest

from llmswitch.training import features


@pytest.fixture
def encoder(monkeypatch):
    """A stand-in for the ONNX encoder that counts the prompts it embeds."""
    calls: list[list[str]] = []

    def encode(queries, batch_size, progress):
        calls.append(list(queries))
        vectors = np.array([[len(q), q.count("a"), 1.0] for q in queries], np.float32)
        domains = np.tile(np.eye(14, dtype=np.float32)[[len(q) % 14 for q in queries]], 1)
        return vectors, domains

    monkeypatch.setattr(features, "_encode", encode)
    monkeypatch.setattr(features, "domain_available", lambda: True)
    monkeypatch.setattr(features, "domain_head_identity", lambda: "head-1")
    return calls


def test_domain_on_and_off_share_one_embedding_pass(tmp_path, encoder):
    first = features.query_features(["alpha", "beta"], tmp_path, progress=False, with_domain=True)
    second = features.query_features(["beta", "alpha"], tmp_path, progress=False, with_domain=False)
    assert encoder == [["alpha", "beta"]]
    assert first.shape == (2, 17) and first[:, 3:].sum() == 2 and second[:, 3:].sum() == 0
    assert np.array_equal(first[0, :3], second[1, :3])


def test_only_new_prompts_are_embedded(tmp_path, encoder):
    features.query_features(["a", "b"], tmp_path, progress=False)
    features.query_features(["b", "c", "a", "d"], tmp_path, progress=False)
    assert encoder == [["a", "b"], ["c", "d"]]


def test_a_new_domain_head_recomputes_domains_only_when_asked(tmp_path, encoder, monkeypatch):
    features.query_features(["a"], tmp_path, progress=False)
    monkeypatch.setattr(features, "domain_head_identity", lambda: "head-2")
    features.query_features(["a"], tmp_path, progress=False, with_domain=False)
    assert len(encoder) == 1
    features.query_features(["a"], tmp_path, progress=False, with_domain=True)
    assert len(encoder) == 2


def test_prompt_hashes_ending_in_zero_bytes_are_found_again(tmp_path, encoder):
    prompts = [f"p{i}" for i in range(600)]  # about two of these hashes end in a zero byte
    assert any(features.prompt_key(p).endswith(b"\0") for p in prompts)
    features.query_features(prompts, tmp_path, progress=False)
    features.query_features(prompts, tmp_path, progress=False)
    assert len(encoder) == 1

"""The exported ONNX encoder against PyTorch, pooling, truncation and the model cache."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from llmswitch.inference.artifact import MANIFEST, default_model_dir  # noqa: E402
from llmswitch.inference.batcher import MicroBatcher  # noqa: E402
from llmswitch.inference.embedder import Embedder  # noqa: E402
from llmswitch.inference.export import (  # noqa: E402
    DEFAULT_LAYER_MEANS,
    default_output_dir,
    default_source_dir,
    ensure_embedding_model,
    is_current,
)

TEXTS = [
    "hi",
    "What is the derivative of x squared with respect to x?",
    "Explain the doctrine of promissory estoppel in contract law, with an example from case law.",
    "Le chat est sur la table. 日本語のテキスト 🙂 naïve café",
    "word " * 400,  # longer than the window: truncated
    "",
]


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """The default cache's model if it is current, else one export per test session."""
    cached = default_output_dir()
    if is_current(cached, default_source_dir(), False, DEFAULT_LAYER_MEANS):
        return cached
    return ensure_embedding_model(out_dir=tmp_path_factory.getbasetemp() / "encoder")


@pytest.fixture(scope="module")
def embedder(model_dir) -> Embedder:
    return Embedder(model_dir, device="cpu", intra_op_threads=1)


@pytest.fixture(scope="module")
def torch_model():
    return transformers.AutoModel.from_pretrained(default_source_dir()).eval()


def test_onnx_matches_pytorch_on_a_padded_batch(embedder, torch_model):
    batch = embedder.tokenizer(TEXTS)
    assert len(set(batch.attention_mask.sum(axis=1))) == len(TEXTS)  # every row padded differently
    with torch.inference_mode():
        ref = torch_model(
            input_ids=torch.from_numpy(batch.input_ids),
            attention_mask=torch.from_numpy(batch.attention_mask),
            output_hidden_states=True,
        )
    tokens, layer_means = embedder.session.run(
        None, {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
    )
    real = batch.attention_mask.astype(bool)
    assert np.abs(tokens[real] - ref.last_hidden_state.numpy()[real]).max() < 1e-4

    mask = torch.from_numpy(batch.attention_mask)[..., None].float()
    for k, layer in enumerate(DEFAULT_LAYER_MEANS):
        expected = (ref.hidden_states[layer] * mask).sum(1) / mask.sum(1)
        assert np.abs(layer_means[:, k] - expected.numpy()).max() < 1e-4

    pooled = (ref.last_hidden_state * mask).sum(1) / mask.sum(1)
    expected = torch.nn.functional.normalize(pooled, dim=-1).numpy()
    assert np.abs(embedder.embed(TEXTS) - expected).max() < 1e-4


def test_embedding_does_not_depend_on_batch_padding(embedder):
    alone = np.vstack([embedder.embed([t]) for t in TEXTS])
    together = embedder.embed(TEXTS)
    assert np.abs(alone - together).max() < 1e-5


def test_embeddings_are_unit_vectors_and_semantic(embedder):
    vectors = embedder.embed(["How do I bake bread?", "What is a good bread recipe?", "Prove Fermat's little theorem."])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    assert embedder.embed([]).shape == (0, 384)


def test_long_prompt_keeps_head_and_tail_drops_middle(embedder):
    body = " ".join(f"sentence number {i} talks about nothing much." for i in range(400))
    base = embedder.embed(["You are a helpful assistant. " + body + " What is the capital of France?"])
    middle_changed = body.replace("number 200 ", "number two hundred ")
    same = embedder.embed(["You are a helpful assistant. " + middle_changed + " What is the capital of France?"])
    tail_changed = embedder.embed(["You are a helpful assistant. " + body + " How do plants make sugar?"])
    assert np.array_equal(base, same)
    assert float(base[0] @ tail_changed[0]) < 0.99


async def test_batcher_returns_the_vectors_of_direct_calls(embedder):
    sizes: list[int] = []

    def embed(texts: list[str]) -> np.ndarray:
        sizes.append(len(texts))
        return embedder.embed(texts)

    async with MicroBatcher(embed, max_batch_size=4, max_wait_ms=20) as batcher:
        batched = await asyncio.gather(*(batcher.embed(t) for t in TEXTS))
    assert sizes == [4, 2]
    direct = embedder.embed(TEXTS)
    assert np.abs(np.vstack(batched) - direct).max() < 1e-5


def test_manifest_describes_the_model(model_dir, embedder):
    manifest = json.loads((model_dir / MANIFEST).read_text())
    assert manifest["dimension"] == 384 and manifest["max_length"] == 256
    assert manifest["layer_means"] == list(DEFAULT_LAYER_MEANS) and manifest["quantized"] is False
    assert embedder.tokenizer.max_length == 256


def test_stale_manifest_is_not_current(model_dir, tmp_path):
    copy = tmp_path / "model"
    copy.mkdir()
    for f in model_dir.iterdir():
        (copy / f.name).symlink_to(f)
    assert is_current(copy, default_source_dir(), False, DEFAULT_LAYER_MEANS)
    assert not is_current(copy, default_source_dir(), True, DEFAULT_LAYER_MEANS)
    assert not is_current(copy, default_source_dir(), False, (5,))
    (copy / MANIFEST).unlink()
    assert not is_current(copy, default_source_dir(), False, DEFAULT_LAYER_MEANS)


def test_default_model_dir_follows_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LLMSWITCH_MODEL_DIR", str(tmp_path / "explicit"))
    assert default_model_dir() == tmp_path / "explicit"
    monkeypatch.delenv("LLMSWITCH_MODEL_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_model_dir() == tmp_path / "xdg" / "llmswitch" / "models"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_model_dir() == tmp_path / "home" / ".cache" / "llmswitch" / "models"

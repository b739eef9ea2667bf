"""Sentence embeddings from the exported ONNX encoder: tokenise, one ONNX pass, pool in numpy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.inference.artifact import MODEL_FILE, TOKENIZER_FILE, Manifest
from llmswitch.inference.session import Device, create_session
from llmswitch.inference.tokenizer import PromptTokenizer


def mean_pool(token_embeddings: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
    """Average of the real (unmasked) tokens: (n, t, d), (n, t) -> (n, d)."""
    mask = attention_mask[..., None].astype(token_embeddings.dtype)
    counts = np.maximum(mask.sum(axis=1), 1.0)
    return (token_embeddings * mask).sum(axis=1) / counts


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), eps)


@dataclass(frozen=True)
class Encoded:
    """One encoder pass over n texts.

    ``embeddings``: (n, d) unit-length sentence embeddings (mean of the last layer).
    ``layer_means``: (n, k, d) masked means of the intermediate layers listed in
    the manifest (k may be 0); they feed the domain classifier.
    """

    embeddings: np.ndarray
    layer_means: np.ndarray

    def __len__(self) -> int:
        return len(self.embeddings)

    def __getitem__(self, i: int) -> Encoded:
        """Row ``i`` as a batch of one, so a :class:`MicroBatcher` can hand it out."""
        return Encoded(self.embeddings[i : i + 1], self.layer_means[i : i + 1])


class Embedder:
    """Loads an exported model directory (see :mod:`llmswitch.inference.export`)."""

    def __init__(
        self, model_dir: Path, device: Device = "auto", intra_op_threads: int = 1, max_tokens: int | None = None
    ) -> None:
        self.manifest = Manifest.load(model_dir)
        self.window = min(self.manifest.max_length, max_tokens) if max_tokens else self.manifest.max_length
        self.tokenizer = PromptTokenizer(model_dir / TOKENIZER_FILE, self.window)
        self.session = create_session(model_dir / MODEL_FILE, device, intra_op_threads)
        self._outputs = [o.name for o in self.session.get_outputs()]

    @property
    def dimension(self) -> int:
        return self.manifest.dimension

    @property
    def setting(self) -> str:
        """How this encoder runs, e.g. "int8, 48 tokens"."""
        return f"{'int8' if self.manifest.quantized else 'fp32'}, {self.window} tokens"

    def encode(self, texts: list[str]) -> Encoded:
        """Embeddings and intermediate layer means for ``texts``, from a single ONNX run."""
        if not texts:
            k = len(self.manifest.layer_means)
            return Encoded(np.zeros((0, self.dimension), np.float32), np.zeros((0, k, self.dimension), np.float32))
        batch = self.tokenizer(texts)
        outputs = self.session.run(
            self._outputs, {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
        )
        embeddings = l2_normalize(mean_pool(outputs[0], batch.attention_mask))
        layer_means = outputs[1] if len(outputs) > 1 else np.zeros((len(texts), 0, self.dimension), np.float32)
        return Encoded(embeddings, layer_means)

    def embed(self, texts: list[str]) -> np.ndarray:
        """(n, d) float32 unit-length sentence embeddings."""
        return self.encode(texts).embeddings

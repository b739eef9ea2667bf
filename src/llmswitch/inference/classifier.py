"""A trained text classifier exported to ONNX (`llmswitch train classifier`).

The folder holds model.onnx (input_ids, attention_mask -> probabilities), tokenizer.json,
labels.json and manifest.json. Prompts are tokenised exactly as in training, with the
same head+tail truncation as the embedding model.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from llmswitch.inference.artifact import MANIFEST, MODEL_FILE, TOKENIZER_FILE
from llmswitch.inference.session import Device, create_session
from llmswitch.inference.tokenizer import PromptTokenizer

LABELS_FILE = "labels.json"
KIND = "classifier"
FORMAT_VERSION = 1


def read_manifest(model_dir: Path) -> dict:
    manifest = json.loads((model_dir / MANIFEST).read_text(encoding="utf-8"))
    if manifest.get("kind") != KIND or manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"{model_dir} does not hold a format {FORMAT_VERSION} classifier")
    return manifest


class OnnxClassifier:
    """Label probabilities for batches of prompts, from one ONNX pass."""

    def __init__(self, model_dir: Path, device: Device = "auto", intra_op_threads: int = 1) -> None:
        manifest = read_manifest(model_dir)
        self.labels: list[str] = json.loads((model_dir / LABELS_FILE).read_text(encoding="utf-8"))
        self.key: str = manifest["model_sha256"]
        self.tokenizer = PromptTokenizer(model_dir / TOKENIZER_FILE, int(manifest["max_length"]))
        self.session = create_session(model_dir / MODEL_FILE, device, intra_op_threads)

    def probabilities(self, texts: list[str]) -> np.ndarray:
        """(n, labels) float32 probabilities."""
        if not texts:
            return np.zeros((0, len(self.labels)), np.float32)
        batch = self.tokenizer(texts)
        (probabilities,) = self.session.run(
            ["probabilities"], {"input_ids": batch.input_ids, "attention_mask": batch.attention_mask}
        )
        return probabilities

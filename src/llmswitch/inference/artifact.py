"""Where built ONNX models live and what their manifest records."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

MANIFEST = "manifest.json"
MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
# Bump when the exported graph's inputs, outputs or meaning change.
FORMAT_VERSION = 1


def default_model_dir() -> Path:
    """Cache root: $LLMSWITCH_MODEL_DIR, else $XDG_CACHE_HOME/llmswitch/models, else ~/.cache/llmswitch/models."""
    explicit = os.environ.get("LLMSWITCH_MODEL_DIR")
    if explicit:
        return Path(explicit).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache).expanduser() / "llmswitch" / "models"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class Manifest:
    """Facts about one exported model, stored next to it as manifest.json."""

    format_version: int
    source: str  # model name, e.g. "all-MiniLM-L6-v2"
    source_sha256: str  # of the source weights file
    dimension: int
    max_length: int
    layer_means: tuple[int, ...]  # encoder layers whose masked means are the "layer_means" output
    quantized: bool
    model_sha256: str  # of model.onnx

    def save(self, directory: Path) -> None:
        (directory / MANIFEST).write_text(json.dumps(asdict(self), indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Manifest:
        data = json.loads((directory / MANIFEST).read_text())
        data["layer_means"] = tuple(data["layer_means"])
        return cls(**data)

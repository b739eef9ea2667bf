"""Domain classification: a small MLP head on the frozen encoder's features.

The head is trained offline by :mod:`llmswitch.training.domain` and shipped as
``llmswitch/data/domain_head.npz``. Its input is the unit-normalised masked
mean of every encoder layer (the embedding layer, each intermediate layer and
the last one), all produced by the same ONNX pass as the sentence embedding.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np

from llmswitch.inference.artifact import Manifest
from llmswitch.inference.embedder import Encoded, l2_normalize

SHIPPED_HEAD = "domain_head.npz"
_ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def shipped_head_path() -> Path:
    return Path(str(files("llmswitch") / "data" / SHIPPED_HEAD))


def domain_features(encoded: Encoded) -> np.ndarray:
    """(n, (k + 1) * d): each intermediate layer mean, normalised, then the sentence embedding."""
    layers = l2_normalize(encoded.layer_means).reshape(len(encoded), -1)
    return np.hstack([layers, encoded.embeddings]).astype(np.float32)


def gelu(x: np.ndarray) -> np.ndarray:
    """GELU, tanh approximation (the head is trained with the same one)."""
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x**3)))


def softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return z / z.sum(axis=-1, keepdims=True)


@dataclass(frozen=True)
class DomainPrediction:
    category: str
    confidence: float
    probabilities: np.ndarray  # (len(categories),), in the order of DomainClassifier.categories


@dataclass(frozen=True)
class DomainHead:
    """Weights of a one-hidden-layer MLP; input standardisation is folded into ``w1``/``b1``."""

    w1: np.ndarray  # (features, hidden)
    b1: np.ndarray
    w2: np.ndarray  # (hidden, classes)
    b2: np.ndarray
    categories: tuple[str, ...]
    layer_means: tuple[int, ...]  # encoder layers the features need, see Manifest.layer_means
    encoder_sha256: str  # source weights the head was trained on
    info: dict  # training settings and scores, for provenance

    def save(self, path: Path) -> None:
        """Write an .npz with fixed timestamps, so retraining yields the same bytes."""
        arrays = {
            "w1": self.w1,
            "b1": self.b1,
            "w2": self.w2,
            "b2": self.b2,
            "categories": np.array(self.categories),
            "meta": np.array(
                json.dumps(
                    {"layer_means": list(self.layer_means), "encoder_sha256": self.encoder_sha256, "info": self.info},
                    sort_keys=True,
                )
            ),
        }
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.asarray(array), allow_pickle=False)
                entry = zipfile.ZipInfo(name + ".npy", date_time=_ZIP_EPOCH)
                archive.writestr(entry, buffer.getvalue(), compress_type=zipfile.ZIP_DEFLATED)

    @classmethod
    def load(cls, path: Path) -> DomainHead:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            return cls(
                w1=data["w1"].astype(np.float32),
                b1=data["b1"].astype(np.float32),
                w2=data["w2"].astype(np.float32),
                b2=data["b2"].astype(np.float32),
                categories=tuple(str(c) for c in data["categories"]),
                layer_means=tuple(meta["layer_means"]),
                encoder_sha256=meta["encoder_sha256"],
                info=meta["info"],
            )


class DomainClassifier:
    """Maps encoder output to one of the head's categories with its probability."""

    def __init__(self, head: DomainHead) -> None:
        self.head = head
        self.categories = head.categories

    @classmethod
    def load(cls, path: Path | None = None) -> DomainClassifier:
        """The shipped head, or the one at ``path``."""
        return cls(DomainHead.load(path or shipped_head_path()))

    def check_encoder(self, manifest: Manifest) -> None:
        """Raise if the encoder described by ``manifest`` does not produce this head's features."""
        if manifest.source_sha256 != self.head.encoder_sha256:
            raise ValueError("domain head was trained on a different encoder")
        if manifest.layer_means != self.head.layer_means:
            raise ValueError(
                f"domain head needs layer means {self.head.layer_means}, encoder exports {manifest.layer_means}"
            )

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """(n, classes) probabilities for (n, features) rows from :func:`domain_features`."""
        hidden = gelu(features @ self.head.w1 + self.head.b1)
        return softmax(hidden @ self.head.w2 + self.head.b2)

    def classify(self, encoded: Encoded) -> list[DomainPrediction]:
        probs = self.probabilities(domain_features(encoded))
        best = probs.argmax(axis=1)
        return [DomainPrediction(self.categories[j], float(p[j]), p) for j, p in zip(best, probs, strict=True)]

"""The semantic analyzer: one micro-batched ONNX pass per prompt gives its embedding and domain.

Loaded only when the config uses a semantic signal or a feature-based selector. Inference runs in
the batcher's thread, off the event loop; concurrent prompts share a pass. Trained classifiers
run in the same batch, right after the encoder: the engine outlives reloads, so each config's
signals register the classifiers they test (`use_classifiers`) and keep the returned set alive;
a batch runs every classifier some live config still uses.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from llmswitch.config import ConfigError
from llmswitch.config.signals import SemanticsConfig
from llmswitch.inference.artifact import MANIFEST
from llmswitch.inference.batcher import MicroBatcher
from llmswitch.inference.classifier import OnnxClassifier
from llmswitch.inference.domain import DomainClassifier, domain_features
from llmswitch.inference.embedder import Embedder
from llmswitch.inference.export import default_output_dir
from llmswitch.request import Semantics
from llmswitch.safety.jailbreak import shipped_head_path as jailbreak_head_path


def _model_dir(settings: SemanticsConfig, source: str) -> Path:
    if settings.model_dir:
        model_dir = Path(settings.model_dir).expanduser()
    else:
        model_dir = default_output_dir(settings.quantized)
    if not (model_dir / MANIFEST).is_file():
        command = "llmswitch models export" + (" --quantize" if settings.quantized and not settings.model_dir else "")
        raise ConfigError(
            source, [f"semantics.model_dir: no exported model in {model_dir}; build it with `{command}`"]
        )
    return model_dir


def _jailbreak_head(embedder: Embedder) -> DomainClassifier | None:
    """The shipped jailbreak head, or None where it does not fit this encoder (a custom model_dir)."""
    try:
        head = DomainClassifier.load(jailbreak_head_path())
        head.check_encoder(embedder.manifest)
    except (OSError, ValueError):
        return None
    return head


@dataclass(eq=False)
class ClassifierSet:
    """The classifiers one config tests; the engine runs them while this object is alive."""

    models: tuple[OnnxClassifier, ...]


class SemanticEngine:
    def __init__(self, settings: SemanticsConfig, source: str = "<config>") -> None:
        self.settings = settings
        self.embedder = Embedder(
            _model_dir(settings, source), settings.device, settings.intra_op_threads, settings.max_tokens
        )
        try:
            self.domain = DomainClassifier.load(Path(settings.domain_head) if settings.domain_head else None)
            self.domain.check_encoder(self.embedder.manifest)
        except (OSError, ValueError) as exc:
            raise ConfigError(source, [f"semantics.domain_head: {exc}"]) from None
        self.categories = self.domain.categories
        self.jailbreak = _jailbreak_head(self.embedder)
        self._classifier_sets: weakref.WeakSet[ClassifierSet] = weakref.WeakSet()
        self._lock = threading.Lock()
        self._batcher: MicroBatcher[Semantics] = MicroBatcher(
            self._analyze_batch, settings.max_batch_size, settings.max_wait_ms
        )

    @property
    def window(self) -> int:
        """Tokens of a prompt the encoder reads; longer prompts are cut (head and tail kept)."""
        return self.embedder.window

    def load_classifier(self, model_dir: Path) -> OnnxClassifier:
        return OnnxClassifier(model_dir, self.settings.device, self.settings.intra_op_threads)

    def use_classifiers(self, models: Sequence[OnnxClassifier]) -> ClassifierSet:
        """Run `models` in every analysis for as long as the returned set is referenced."""
        handle = ClassifierSet(tuple(models))
        with self._lock:
            self._classifier_sets.add(handle)
        return handle

    def _live_classifiers(self) -> dict[str, OnnxClassifier]:
        with self._lock:
            return {m.key: m for handle in list(self._classifier_sets) for m in handle.models}

    def _analyze_batch(self, texts: list[str]) -> list[Semantics]:
        encoded = self.embedder.encode(texts)
        features = domain_features(encoded)
        probabilities = self.domain.probabilities(features)
        jailbreak = self.jailbreak.probabilities(features)[:, 1] if self.jailbreak else [None] * len(texts)
        classified = {key: model.probabilities(texts) for key, model in self._live_classifiers().items()}
        return [
            Semantics(e, p, {key: rows[i] for key, rows in classified.items()}, None if j is None else float(j))
            for i, (e, p, j) in enumerate(zip(encoded.embeddings, probabilities, jailbreak, strict=True))
        ]

    async def analyze(self, text: str) -> Semantics:
        return await self._batcher.embed(text)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Synchronous embeddings, for example phrases at config load."""
        return self.embedder.embed(texts)

    async def aclose(self) -> None:
        await self._batcher.aclose()

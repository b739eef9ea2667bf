"""The semantic analyzer: one micro-batched ONNX pass per prompt gives its embedding and domain.

Loaded only when the config uses a semantic signal or a feature-based selector. Inference runs in
the batcher's thread, off the event loop; concurrent prompts share a pass.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmswitch.config import ConfigError
from llmswitch.config.schema import SemanticsConfig
from llmswitch.inference.artifact import MANIFEST
from llmswitch.inference.batcher import MicroBatcher
from llmswitch.inference.domain import DomainClassifier, domain_features
from llmswitch.inference.embedder import Embedder
from llmswitch.inference.export import default_output_dir
from llmswitch.request import Semantics


def _model_dir(settings: SemanticsConfig, source: str) -> Path:
    model_dir = Path(settings.model_dir).expanduser() if settings.model_dir else default_output_dir()
    if not (model_dir / MANIFEST).is_file():
        raise ConfigError(
            source,
            [f"semantics.model_dir: no exported model in {model_dir}; build it with `llmswitch models export`"],
        )
    return model_dir


class SemanticEngine:
    def __init__(self, settings: SemanticsConfig, source: str = "<config>") -> None:
        self.settings = settings
        self.embedder = Embedder(_model_dir(settings, source), settings.device, settings.intra_op_threads)
        try:
            self.domain = DomainClassifier.load(Path(settings.domain_head) if settings.domain_head else None)
            self.domain.check_encoder(self.embedder.manifest)
        except (OSError, ValueError) as exc:
            raise ConfigError(source, [f"semantics.domain_head: {exc}"]) from None
        self.categories = self.domain.categories
        self._batcher: MicroBatcher[Semantics] = MicroBatcher(
            self._analyze_batch, settings.max_batch_size, settings.max_wait_ms
        )

    def _analyze_batch(self, texts: list[str]) -> list[Semantics]:
        encoded = self.embedder.encode(texts)
        probabilities = self.domain.probabilities(domain_features(encoded))
        return [Semantics(e, p) for e, p in zip(encoded.embeddings, probabilities, strict=True)]

    async def analyze(self, text: str) -> Semantics:
        return await self._batcher.embed(text)

    def embed(self, texts: list[str]) -> np.ndarray:
        """Synchronous embeddings, for example phrases at config load."""
        return self.embedder.embed(texts)

    async def aclose(self) -> None:
        await self._batcher.aclose()

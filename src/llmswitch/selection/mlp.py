"""`mlp`: a small ONNX multi-layer perceptron giving each model's probability of being the best.

The network is trained and exported offline (`llmswitch train selectors`); its graph takes
`features` (n, d) and returns `scores` (n, models). The artifact metadata rides in the ONNX
file's metadata_props under `llmswitch`. `device: cuda` uses ONNX Runtime's CUDA provider
(onnxruntime-gpu), `device: metal` its CoreML provider (macOS builds); without the provider, or
without a usable device, the network runs on the CPU and a warning at load time says so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llmswitch.config.algorithms import MlpAlgorithm
from llmswitch.inference.session import Device, create_session
from llmswitch.selection.artifact import ArtifactError, ArtifactMeta, config_error, load_checked
from llmswitch.selection.base import SelectorContext
from llmswitch.selection.learned import ScoredSelector

ALGORITHM = "mlp"
METADATA_KEY = "llmswitch"
INPUT, OUTPUT = "features", "scores"


class MlpScorer:
    def __init__(self, path: Path, device: Device = "cpu") -> None:
        if not path.is_file():
            raise ArtifactError(f"file not found: {path}")
        try:
            self.session = create_session(path, device, cpu_fallback=True)
        except Exception as exc:  # onnxruntime raises its own exception types for bad files
            raise ArtifactError(f"cannot load ONNX model {path}: {exc}") from None
        metadata = self.session.get_modelmeta().custom_metadata_map
        if METADATA_KEY not in metadata:
            raise ArtifactError(f"{path} is not a selector artifact (no {METADATA_KEY} metadata)")
        self.meta = ArtifactMeta.from_json(metadata[METADATA_KEY], ALGORITHM)

    @property
    def models(self) -> tuple[str, ...]:
        return self.meta.models

    @property
    def hidden_dims(self) -> list[int]:
        return list(self.meta.settings["hidden_dims"])

    def scores(self, features: np.ndarray) -> np.ndarray:
        return self.session.run([OUTPUT], {INPUT: np.asarray(features, np.float32)})[0]


class MlpSelector(ScoredSelector):
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext) -> None:
        params = context.decision.algorithm
        assert isinstance(params, MlpAlgorithm)
        scorer = load_checked(context, "mlp", params.mlp.artifact, lambda path: MlpScorer(path, params.mlp.device))
        if params.mlp.hidden_dims is not None and params.mlp.hidden_dims != scorer.hidden_dims:
            raise config_error(
                context,
                "mlp.hidden_dims",
                f"{params.mlp.hidden_dims} asked, the artifact has {scorer.hidden_dims}; retrain with "
                f"`llmswitch train selectors --mlp-hidden-dims {','.join(map(str, params.mlp.hidden_dims))}`",
            )
        super().__init__(scorer)

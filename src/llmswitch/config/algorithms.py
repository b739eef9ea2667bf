"""Per-decision model-selection settings: `algorithm: {type: X, X: {params}}`.

Each algorithm is one model here and one module in `llmswitch.selection`. Learned algorithms
read a trained artifact: the one `artifact` names (relative paths resolve against the config file's
folder), or by convention `<model_selection.ml.models_path>/<decision name>/<file>` (the files
`llmswitch train selectors` writes). Training-time settings given here are checked against the
artifact when the config is loaded. The parameter blocks use vLLM Semantic Router's spelling
(`knn: {k: 5}`, `svm: {kernel: rbf, gamma: 1.0}`, `kmeans: {num_clusters: 8}`, `mlp: {device: cuda}`).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field, model_validator

from llmswitch.config.base import StrictModel

ArtifactPath = Annotated[
    str | None,
    Field(
        min_length=1,
        description="Trained artifact, relative to the config file's folder; "
        "default: <model_selection.ml.models_path>/<decision name>/<the algorithm's file>.",
    ),
]


class StaticAlgorithm(StrictModel):
    """Always the first modelRef."""

    type: Literal["static"] = "static"


class WeightedParams(StrictModel):
    seed: int | None = Field(None, description="Seed for reproducible picks; random if unset.")


class WeightedAlgorithm(StrictModel):
    """Picks a modelRef at random in proportion to its weight."""

    type: Literal["weighted"]
    weighted: WeightedParams = WeightedParams()


class KnnParams(StrictModel):
    artifact: ArtifactPath = None
    k: int = Field(100, ge=1, le=1000, description="Neighbours that vote (100: best in 5-fold CV on the training splits).")


class KnnAlgorithm(StrictModel):
    """Quality-weighted voting among the k nearest training queries."""

    type: Literal["knn"]
    needs_semantics: ClassVar[bool] = True  # features: prompt embedding + domain one-hot
    knn: KnnParams = KnnParams()


class KmeansParams(StrictModel):
    artifact: ArtifactPath = None
    num_clusters: int | None = Field(None, ge=1, description="Checked against the artifact when set.")
    efficiency_weight: float = Field(
        0.1, ge=0, le=1, description="0: the cluster's best-quality model; 1: its cheapest."
    )


class KmeansAlgorithm(StrictModel):
    """Each query's cluster sends it to that cluster's best model under the quality/efficiency trade-off."""

    type: Literal["kmeans"]
    needs_semantics: ClassVar[bool] = True  # features: prompt embedding + domain one-hot
    kmeans: KmeansParams = KmeansParams()


class SvmParams(StrictModel):
    artifact: ArtifactPath = None
    kernel: Literal["rbf", "linear"] | None = Field(None, description="Checked against the artifact when set.")
    gamma: float | None = Field(None, gt=0, description="RBF width; checked against the artifact when set.")


class SvmAlgorithm(StrictModel):
    """One-vs-rest support vector machines over the models; the highest decision value wins."""

    type: Literal["svm"]
    needs_semantics: ClassVar[bool] = True  # features: prompt embedding + domain one-hot
    svm: SvmParams = SvmParams()


class MlpParams(StrictModel):
    artifact: ArtifactPath = None
    hidden_dims: list[int] | None = Field(None, description="Checked against the artifact when set.")
    device: Literal["cpu", "cuda", "metal"] = Field(
        "cpu",
        description="cuda: ONNX Runtime's CUDA provider (onnxruntime-gpu); metal: its CoreML provider (macOS builds). "
        "Either falls back to the CPU, with a warning at start-up, when the provider is missing.",
    )


class MlpAlgorithm(StrictModel):
    """An ONNX multi-layer perceptron that predicts each model's quality; the best prediction wins."""

    type: Literal["mlp"]
    needs_semantics: ClassVar[bool] = True  # features: prompt embedding + domain one-hot
    mlp: MlpParams = MlpParams()


class QosParams(StrictModel):
    artifact: ArtifactPath = None


class QosAlgorithm(StrictModel):
    """QoS = (1 + MC/10)·Q/100 + (1 + TC/10)/L from four regressors; the highest predicted QoS wins."""

    type: Literal["qos"]
    needs_semantics: ClassVar[bool] = True  # features: prompt embedding + domain one-hot
    qos: QosParams = QosParams()


class FactorWeights(StrictModel):
    quality: float = Field(1.0, ge=0)
    cost: float = Field(0.0, ge=0)
    latency: float = Field(0.0, ge=0)


class MultiFactorParams(StrictModel):
    artifact: ArtifactPath = Field(None, description="Per-model profile (mean quality, latency and completion tokens).")
    weights: FactorWeights = FactorWeights()
    max_cost_per_1m: float | None = Field(
        None, gt=0, description="Drop models whose mean of input and output price per 1M tokens is higher."
    )
    max_latency_ms: float | None = Field(None, gt=0, description="Drop models whose mean latency is higher.")


class MultiFactorAlgorithm(StrictModel):
    """Weighted quality, cost and latency from a profile and the models' pricing; too-small contexts are dropped."""

    type: Literal["multi_factor"]
    multi_factor: MultiFactorParams = MultiFactorParams()


class ThresholdParams(StrictModel):
    artifact: ArtifactPath = None
    strong_share: float = Field(
        0.5, ge=0, le=1, description="Target share of strong-model calls; sets the threshold on the reference set."
    )


class ThresholdAlgorithm(StrictModel):
    """Two models: the strong one when the predicted P(strong wins) clears a calibrated threshold."""

    type: Literal["threshold"]
    needs_semantics: ClassVar[bool] = True  # features: prompt embedding + domain one-hot
    threshold: ThresholdParams = ThresholdParams()


class RouterPricing(StrictModel):
    input_per_1m: float = Field(ge=0)
    output_per_1m: float = Field(ge=0)


class LlmParams(StrictModel):
    base_url: str = Field(min_length=1, description="OpenAI-compatible API root, e.g. http://127.0.0.1:8000/v1.")
    model: str = Field(min_length=1, description="The router model's id.")
    api_key_env: str | None = Field(None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    timeout_ms: int = Field(500, ge=1, le=60000)
    fallback_model: str = Field(min_length=1, description="A modelRef used on timeout or an unusable answer.")
    pricing: RouterPricing | None = Field(
        None, description="The router model's prices; defaults to models[] pricing of a model with this name."
    )
    max_prompt_chars: int = Field(4000, ge=1, description="Longer prompts are cut before they are sent.")


class LlmAlgorithm(StrictModel):
    """Asks an LLM which modelRef should answer, given the models' descriptions."""

    type: Literal["llm"]
    llm: LlmParams


class BudgetTier(StrictModel):
    below: float = Field(gt=0, le=1, description="Applies while the remaining share of the daily budget is below this.")
    models: list[str] | None = Field(
        None, min_length=1, description="Allowed models; default: below 0.5 drop the priciest, below 0.2 only the cheapest."
    )


class BudgetParams(StrictModel):
    budget_per_day: float = Field(gt=0, description="In the currency of models[].pricing.")
    tiers: list[BudgetTier] = Field([BudgetTier(below=0.5), BudgetTier(below=0.2)], min_length=1)
    inner: Algorithm

    @model_validator(mode="after")
    def _tiers_descend(self) -> BudgetParams:
        bounds = [tier.below for tier in self.tiers]
        if bounds != sorted(bounds, reverse=True) or len(set(bounds)) != len(bounds):
            raise ValueError("tiers must have strictly decreasing `below`")
        return self


class BudgetAlgorithm(StrictModel):
    """Wraps another algorithm and steps down to cheaper models as the day's budget runs out."""

    type: Literal["budget"]
    budget: BudgetParams

    @property
    def needs_semantics(self) -> bool:
        return getattr(self.budget.inner, "needs_semantics", False)


Algorithm = Annotated[
    StaticAlgorithm
    | WeightedAlgorithm
    | KnnAlgorithm
    | KmeansAlgorithm
    | SvmAlgorithm
    | MlpAlgorithm
    | QosAlgorithm
    | MultiFactorAlgorithm
    | ThresholdAlgorithm
    | LlmAlgorithm
    | BudgetAlgorithm,
    Field(discriminator="type"),
]
BudgetParams.model_rebuild()
ALGORITHM_TYPES = frozenset(
    member.model_fields["type"].annotation.__args__[0] for member in Algorithm.__origin__.__args__
)


# The file each learned algorithm reads, as `llmswitch train selectors` names it.
ARTIFACT_FILES: dict[str, str] = {
    "knn": "knn.npz",
    "kmeans": "kmeans.npz",
    "svm": "svm.npz",
    "mlp": "mlp.onnx",
    "qos": "qos.npz",
    "multi_factor": "profile.json",
    "threshold": "threshold.npz",
}


def artifact_params(algorithm: Algorithm, path: str) -> tuple[str, str, str | None] | None:
    """(YAML path of the params block, algorithm type, explicit artifact) of a learned algorithm, else None.

    A budget wrapper is looked through to its inner algorithm.
    """
    if isinstance(algorithm, BudgetAlgorithm):
        return artifact_params(algorithm.budget.inner, f"{path}.budget.inner")
    params = getattr(algorithm, algorithm.type, None)
    if params is None or "artifact" not in type(params).model_fields:
        return None
    return f"{path}.{algorithm.type}", algorithm.type, params.artifact


def _only_true(value: bool) -> bool:
    if not value:
        raise ValueError("learned selectors cannot be switched off; give the decisions another algorithm instead")
    return value


EnabledFlag = Annotated[
    bool,
    AfterValidator(_only_true),
    Field(description="Accepted as vLLM Semantic Router writes it (true); learned selectors cannot be switched off."),
]


class MlSelectionConfig(StrictModel):
    """Where learned selectors find their trained files (vLLM Semantic Router's `model_selection.ml`)."""

    enabled: EnabledFlag = True
    models_path: str | None = Field(
        None,
        min_length=1,
        description="Folder of trained selectors, relative to the config file's folder: a decision's learned "
        "algorithm without `artifact` reads <models_path>/<decision name>/<file> ("
        + ", ".join(ARTIFACT_FILES.values())
        + "), as `llmswitch train selectors --out <models_path>/<decision name>` writes them.",
    )


class ModelSelectionConfig(StrictModel):
    enabled: EnabledFlag = True
    ml: MlSelectionConfig = MlSelectionConfig()

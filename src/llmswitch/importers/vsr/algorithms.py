"""Decision algorithms: a converter per vLLM Semantic Router algorithm type that llmswitch has.

`ALGORITHMS` is the table; a type llmswitch gains later is mapped by adding an entry. An algorithm
that cannot be mapped leaves the decision on `static` (its first modelRef), reported. Plugins are
in `plugins`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import TypeAdapter, ValidationError

from llmswitch.config.algorithms import Algorithm
from llmswitch.importers.report import ImportReport

DEFAULT_MODELS_PATH = "selectors"


@dataclass
class AlgorithmContext:
    """What algorithm converters may read besides the block itself."""

    report: ImportReport
    ml_defaults: dict[str, dict] = field(default_factory=dict)
    """The source's router-wide `model_selection.ml.<algorithm>` settings, under each decision's own."""
    models: dict[str, dict] = field(default_factory=dict)
    """Converted llmswitch models by llmswitch name (for the llm router's endpoint)."""
    model_names: dict[str, str] = field(default_factory=dict)
    """Source model name -> llmswitch model name."""
    uses_models_path: bool = False
    """Set when a learned algorithm reads its artifact from model_selection.ml.models_path."""


Converter = Callable[[dict, str, list[dict], AlgorithmContext], dict | None]
_ALGORITHM = TypeAdapter(Algorithm)


def _static(block: dict, path: str, refs: list[dict], ctx: AlgorithmContext) -> dict:
    return {"type": "static"}


def _random(block: dict, path: str, refs: list[dict], ctx: AlgorithmContext) -> dict:
    if any(ref.get("weight", 1) != 1 for ref in refs):
        ctx.report.change(path, "random ignores weight: the modelRefs' weights are set to 1 for a uniform draw")
        for ref in refs:
            ref.pop("weight", None)
    return {"type": "weighted"}


def _learned(kind: str, params: dict[str, str], choices: dict[str, tuple] | None = None) -> Converter:
    """knn/kmeans/svm/mlp: the same parameter names; the artifact comes from models_path by convention."""

    def convert(block: dict, path: str, refs: list[dict], ctx: AlgorithmContext) -> dict:
        own = block.get(kind) if isinstance(block.get(kind), dict) else {}
        merged = {**ctx.ml_defaults.get(kind, {}), **own}
        out = {}
        for source, target in params.items():
            if source not in merged:
                continue
            value = merged[source]
            if choices and source in choices and value not in choices[source]:
                ctx.report.not_mapped(f"{path}.{kind}.{source}", f"{value!r}: llmswitch takes one of {choices[source]}")
                continue
            out[target] = value
        ctx.report.extra_keys(own, f"{path}.{kind}", params, PRETRAINED)
        ctx.uses_models_path = True
        return {"type": kind, kind: out}

    return convert


def _multi_factor(block: dict, path: str, refs: list[dict], ctx: AlgorithmContext) -> dict:
    own = block.get("multi_factor") if isinstance(block.get("multi_factor"), dict) else {}
    out: dict[str, Any] = {}
    weights = own.get("weights") if isinstance(own.get("weights"), dict) else {}
    if weights:
        out["weights"] = {k: weights[k] for k in ("quality", "cost", "latency") if k in weights}
        ctx.report.extra_keys(
            weights,
            f"{path}.multi_factor.weights",
            ("quality", "cost", "latency"),
            {"load": "llmswitch does not track model load"},
        )
    slo = own.get("slo") if isinstance(own.get("slo"), dict) else {}
    if "max_cost_per_1m" in slo:
        out["max_cost_per_1m"] = slo["max_cost_per_1m"]
    ctx.report.extra_keys(
        slo,
        f"{path}.multi_factor.slo",
        ("max_cost_per_1m",),
        {
            "max_ttft_ms": "llmswitch caps mean latency (max_latency_ms), not TTFT",
            "max_tpot_ms": "llmswitch caps mean latency (max_latency_ms), not TPOT",
        },
    )
    ctx.report.change(
        f"{path}.multi_factor",
        "quality comes from a profile `llmswitch train selectors` writes (profile.json), not from an evaluation index",
    )
    ctx.report.extra_keys(own, f"{path}.multi_factor", ("weights", "slo"))
    ctx.uses_models_path = True
    return {"type": "multi_factor", "multi_factor": out}


def _prompt(block: dict, path: str, refs: list[dict], ctx: AlgorithmContext) -> dict | None:
    """The source's `prompt` selector asks an LLM to pick a candidate: llmswitch's `llm` algorithm."""
    own = block.get("prompt") if isinstance(block.get("prompt"), dict) else {}
    router = ctx.models.get(ctx.model_names.get(str(own.get("model")), ""))
    if router is None:
        ctx.report.not_mapped(f"{path}.prompt.model", f"{own.get('model')!r} is not a carried-over model")
        return None
    scheme = "https" if router.get("tls") else "http"
    params: dict[str, Any] = {
        "base_url": f"{scheme}://{router['endpoint']}/v1",
        "model": router.get("upstream_model", router["name"]),
        "fallback_model": refs[0]["model"],
    }
    if router.get("api_key_env"):
        params["api_key_env"] = router["api_key_env"]
    if isinstance(own.get("timeout_seconds"), int | float):
        params["timeout_ms"] = min(60000, max(1, int(own["timeout_seconds"] * 1000)))
    reasons = {"instructions": "llmswitch's llm router builds its prompt from the models' descriptions"}
    ctx.report.extra_keys(own, f"{path}.prompt", ("model", "timeout_seconds"), reasons)
    return {"type": "llm", "llm": params}


# The learned selectors' parameters: the source's name -> llmswitch's.
LEARNED_PARAMS: dict[str, dict[str, str]] = {
    "knn": {"k": "k"},
    "kmeans": {"num_clusters": "num_clusters", "efficiency_weight": "efficiency_weight"},
    "svm": {"kernel": "kernel", "gamma": "gamma"},
    "mlp": {"device": "device", "hidden_layers": "hidden_dims"},
}
PRETRAINED = {
    "pretrained_path": "the source's trained files cannot be read by llmswitch; "
    "`llmswitch train selectors` makes its own"
}
ALGORITHMS: dict[str, Converter] = {
    "static": _static,
    "random": _random,
    "knn": _learned("knn", LEARNED_PARAMS["knn"]),
    "kmeans": _learned("kmeans", LEARNED_PARAMS["kmeans"]),
    "svm": _learned("svm", LEARNED_PARAMS["svm"], {"kernel": ("rbf", "linear")}),
    "mlp": _learned("mlp", LEARNED_PARAMS["mlp"], {"device": ("cpu", "cuda", "metal")}),
    "multi_factor": _multi_factor,
    "prompt": _prompt,
}
# Keys on the algorithm block that are not the type's own parameters.
ALGORITHM_COMMON = ("type", "on_error", "minimum_candidates")


def convert_algorithm(block: Any, path: str, refs: list[dict], ctx: AlgorithmContext) -> dict:
    """The llmswitch algorithm for a decision; `static` (reported) when the source's cannot be mapped."""
    if not isinstance(block, dict) or "type" not in block:
        return {"type": "static"}
    kind = str(block["type"])
    converter = ALGORITHMS.get(kind)
    result = converter(block, path, refs, ctx) if converter else None
    if converter is None:
        ctx.report.not_mapped(
            f"{path}.type", f"llmswitch has no {kind!r} algorithm: the decision uses static (its first modelRef)"
        )
    elif result is not None:
        try:
            _ALGORITHM.validate_python(result)
        except ValidationError as exc:
            error = exc.errors()[0]
            ctx.report.not_mapped(path, f"{'.'.join(map(str, error['loc']))}: {error['msg']}: the decision uses static")
            result = None
    ctx.report.extra_keys(
        block,
        path,
        (*ALGORITHM_COMMON, kind),
        {"on_error": "llmswitch falls back along modelRefs, then fallback models"},
    )
    return result or {"type": "static"}

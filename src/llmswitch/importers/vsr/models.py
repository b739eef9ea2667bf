"""Models: `providers.models[]` (with `routing.modelCards`), or the flat layout's `vllm_endpoints` + `model_config`.

llmswitch gives each model one OpenAI-compatible endpoint (`host:port`, optionally TLS) and reads
its API key from an environment variable.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from llmswitch.config.models import ModelConfig
from llmswitch.importers.report import ImportReport, Names
from llmswitch.importers.vsr.layout import At, Sections

# Model-card keys that only describe a model for people (dashboards, catalogs).
CARD_METADATA = frozenset(
    "name display_name publisher presentation distribution family revision released_at knowledge_cutoff lifecycle "
    "param_size tags modalities modality capabilities max_output_tokens".split()
)
BACKEND_LABELS = frozenset({"name", "provider", "weight"})
KEY_IN_ENV = "llmswitch reads API keys from environment variables: put it in one and set api_key_env"
MODEL_REASONS = {
    "access_key": KEY_IN_ENV,
    "reasoning": "llmswitch does not switch reasoning modes (yet)",
    "reasoning_family": "llmswitch does not switch reasoning modes (yet)",
    "reliability": "llmswitch's retries and outlier detection are router-wide (routing.retries, "
    "routing.outlier_detection)",
    "external_model_ids": "llmswitch sends one upstream id per model (upstream_model)",
    "pii_policy": "llmswitch does not filter models by PII: route such requests with a pii signal in a decision, "
    "or block or redact them with a pii plugin",
}


def convert_models(sections: Sections, report: ImportReport, names: Names) -> tuple[list[dict], str | None]:
    """llmswitch `models` and `default_model`; `names` maps the source's model names to llmswitch's."""
    cards = _cards(sections.model_cards, report)
    models = []
    if sections.models is not None:
        for index, entry in enumerate(_list(sections.models, report)):
            path = f"{sections.models.path}[{index}]"
            model = _provider_model(entry, path, cards, report) if isinstance(entry, dict) else None
            if model is not None and (name := names.add(model["name"], f"{path}.name")) is not None:
                models.append(_validated({**model, "name": name}, path, report))
    if sections.legacy_models is not None:
        models += _legacy_models(sections, report, names)
    models = [m for m in models if m is not None]
    return models, _default_model(sections, models, names, report)


def _list(at: At, report: ImportReport) -> list:
    if isinstance(at.value, list):
        return at.value
    report.not_mapped(at.path, "expected a list")
    return []


def _cards(at: At | None, report: ImportReport) -> dict[str, tuple[dict, str]]:
    cards = {}
    for index, card in enumerate(_list(at, report) if at else []):
        if isinstance(card, dict) and "name" in card:
            cards[str(card["name"])] = (card, f"{at.path}[{index}]")
    return cards


def _validated(model: dict, path: str, report: ImportReport) -> dict | None:
    try:
        ModelConfig.model_validate(model)
    except ValidationError as exc:
        report.not_mapped(path, f"model not carried: {exc.errors()[0]['msg']}")
        return None
    return model


def _provider_model(entry: dict, path: str, cards: dict, report: ImportReport) -> dict | None:
    """One `providers.models[]` entry, or None (reported) when llmswitch cannot reach it."""
    if str(entry.get("api_format", "openai")).lower() != "openai":
        report.not_mapped(path, f"api_format {entry['api_format']!r}: llmswitch sends OpenAI chat completions upstream")
        return None
    refs = entry.get("backend_refs") or entry.get("endpoints") or []
    if not refs or not isinstance(refs[0], dict):
        reason = "catalog-backed models have no endpoint here" if "catalog" in entry else "no backend_refs"
        report.not_mapped(path, f"model not carried: {reason}")
        return None
    ref_path = f"{path}.backend_refs[0]" if entry.get("backend_refs") else f"{path}.endpoints[0]"
    model = {"name": str(entry.get("name", ""))}
    if not _endpoint(refs[0], ref_path, model, report):
        return None
    for extra in range(1, len(refs)):
        report.not_mapped(f"{ref_path[:-3]}[{extra}]", "llmswitch sends each model to one endpoint (the first)")
    upstream = entry.get("provider_model_id")
    if upstream and str(upstream) != model["name"]:
        model["upstream_model"] = str(upstream)
    if isinstance(entry.get("pricing"), dict):
        _pricing(entry["pricing"], f"{path}.pricing", model, report)
    handled = ("name", "api_format", "backend_refs", "endpoints", "provider_model_id", "pricing")
    report.extra_keys(entry, path, handled, MODEL_REASONS)
    card, card_path = cards.get(model["name"], ({}, ""))
    if card:
        if card.get("description"):
            model["description"] = str(card["description"])
        if isinstance(card.get("context_window_size"), int):
            model["context_window"] = card["context_window_size"]
        report.extra_keys(
            card,
            card_path,
            CARD_METADATA | {"description", "context_window_size"},
            {"loras": "llmswitch has no LoRA adapters"},
        )
    return model


def _endpoint(ref: dict, path: str, model: dict, report: ImportReport) -> bool:
    """Fill `endpoint`, `tls` and `api_key_env` from one backend ref; False (reported) if it has no address."""
    if "base_url" in ref:
        url = urlsplit(str(ref["base_url"]))
        if not url.hostname:
            report.not_mapped(f"{path}.base_url", f"model not carried: no host in {ref['base_url']!r}")
            return False
        tls = url.scheme == "https"
        model["endpoint"] = f"{url.hostname}:{url.port or (443 if tls else 80)}"
        if url.path.rstrip("/") not in ("", "/v1"):
            report.not_mapped(
                f"{path}.base_url", f"path {url.path!r}: llmswitch sends requests to /v1/chat/completions"
            )
    elif "endpoint" in ref or "address" in ref:
        address = str(ref.get("endpoint") or ref["address"])
        tls = str(ref.get("protocol", "http")).lower() == "https"
        host, sep, port = address.rpartition(":")
        has_port = bool(sep) and port.isdigit() and bool(host)
        port_value = ref.get("port")
        model["endpoint"] = address if has_port else f"{address}:{port_value or (443 if tls else 80)}"
    else:
        report.not_mapped(path, "model not carried: no endpoint or base_url")
        return False
    if tls:
        model["tls"] = True
    if ref.get("api_key_env"):
        model["api_key_env"] = str(ref["api_key_env"])
    handled = BACKEND_LABELS | {"base_url", "endpoint", "address", "port", "protocol", "api_key_env"}
    report.extra_keys(ref, path, handled, {"api_key": KEY_IN_ENV, "access_key": KEY_IN_ENV})
    return True


def _pricing(pricing: dict, path: str, model: dict, report: ImportReport) -> None:
    prompt, completion = pricing.get("prompt_per_1m"), pricing.get("completion_per_1m")
    if isinstance(prompt, int | float) and isinstance(completion, int | float):
        model["pricing"] = {"input_per_1m": float(prompt), "output_per_1m": float(completion)}
    elif prompt is not None or completion is not None:
        report.not_mapped(path, "llmswitch needs both prompt_per_1m and completion_per_1m")
    reasons = {
        "cached_input_per_1m": "llmswitch prices all prompt tokens alike",
        "cache_write_per_1m": "llmswitch prices all prompt tokens alike",
    }
    report.extra_keys(pricing, path, ("prompt_per_1m", "completion_per_1m", "currency"), reasons)


def _legacy_models(sections: Sections, report: ImportReport, names: Names) -> list[dict | None]:
    """Flat layout: model_config{name: {preferred_endpoints, pricing}} over vllm_endpoints[]."""
    endpoints = {}
    if sections.legacy_endpoints is not None:
        for index, ref in enumerate(_list(sections.legacy_endpoints, report)):
            if isinstance(ref, dict) and "name" in ref:
                endpoints[str(ref["name"])] = (ref, f"{sections.legacy_endpoints.path}[{index}]")
    at = sections.legacy_models
    if not isinstance(at.value, dict):
        report.not_mapped(at.path, "expected a mapping of model names")
        return []
    models = []
    for name, spec in at.value.items():
        path = f"{at.path}.{name}"
        spec = spec if isinstance(spec, dict) else {}
        preferred = [str(e) for e in spec.get("preferred_endpoints") or []]
        ref = endpoints.get(preferred[0]) if preferred else next(iter(endpoints.values()), None)
        if ref is None:
            report.not_mapped(path, "model not carried: no vllm_endpoints entry serves it")
            continue
        model: dict[str, Any] = {"name": str(name)}
        if not _endpoint(ref[0], ref[1], model, report):
            continue
        if isinstance(spec.get("pricing"), dict):
            _pricing(spec["pricing"], f"{path}.pricing", model, report)
        report.extra_keys(spec, path, ("preferred_endpoints", "pricing"), MODEL_REASONS)
        if (llm_name := names.add(name, path)) is not None:
            models.append(_validated({**model, "name": llm_name}, path, report))
    return models


def _default_model(sections: Sections, models: list[dict], names: Names, report: ImportReport) -> str | None:
    defaults = sections.defaults.value if sections.defaults else {}
    wanted, path = None, "providers.defaults"
    for key in ("default_model", "model"):
        if defaults.get(key):
            wanted, path = str(defaults[key]), f"providers.defaults.{key}"
    if wanted is None and sections.legacy_default is not None:
        wanted, path = str(sections.legacy_default.value), sections.legacy_default.path
    if sections.defaults:
        report.extra_keys(defaults, "providers.defaults", ("default_model", "model"))
    known = {m["name"] for m in models}
    if wanted is not None and names.mapping.get(wanted) in known:
        return names.mapping[wanted]
    if not models:
        return None
    first = models[0]["name"]
    if wanted is None:
        report.change("providers.defaults", f"no default model given: {first!r}, the first model, is the default")
    else:
        report.change(path, f"{wanted!r} was not carried over: {first!r}, the first model, is the default")
    return first

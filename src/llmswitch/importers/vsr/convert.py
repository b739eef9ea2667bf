"""A vLLM Semantic Router config -> an llmswitch config, validated by the same code as `check-config`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml

from llmswitch.config import ConfigError, LoadedConfig, parse_config
from llmswitch.config.schema import CONFIG_VERSION
from llmswitch.importers.report import ImportReport, Names
from llmswitch.importers.vsr.algorithms import DEFAULT_MODELS_PATH, LEARNED_PARAMS, PRETRAINED, AlgorithmContext
from llmswitch.importers.vsr.decisions import convert_decisions
from llmswitch.importers.vsr.layout import Sections, locate
from llmswitch.importers.vsr.models import convert_models
from llmswitch.importers.vsr.safety import convert_prompt_guard
from llmswitch.importers.vsr.signals import SignalCatalog
from llmswitch.importers.vsr.telemetry import convert_telemetry

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}


@dataclass(frozen=True)
class ImportResult:
    config: dict[str, Any]
    text: str
    """The YAML to write: a header, the report as comments, the config."""
    loaded: LoadedConfig
    report: ImportReport


def import_vsr(text: str, source: str = "<string>") -> ImportResult:
    """Convert; raises ConfigError when the file is unreadable or nothing routable can be made of it."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(source, [f"not valid YAML: {exc}"]) from None
    if not isinstance(doc, dict):
        raise ConfigError(source, ["<root>: expected a mapping of config keys"])
    report = ImportReport()
    sections = locate(doc, report)
    model_names = Names(report)
    models, default_model = convert_models(sections, report, model_names)
    if not models:
        raise ConfigError(source, ["no model could be carried over (providers.models)", *report.lines()])
    ml = _ml_block(sections, report)
    ctx = AlgorithmContext(report, ml["defaults"], {m["name"]: m for m in models}, model_names.mapping)
    signals = SignalCatalog(sections.signals, report)
    decisions = convert_decisions(sections.decisions, signals, ctx)
    config: dict[str, Any] = {"version": CONFIG_VERSION}
    config.update(_listener_and_routing(sections, models, report))
    telemetry = convert_telemetry(sections.observability, report)
    if telemetry:
        config["telemetry"] = telemetry
    if ctx.uses_models_path:
        models_path = ml["models_path"]
        if models_path is None:
            models_path = DEFAULT_MODELS_PATH
            report.change(
                ml["path"],
                f"no models_path: learned selectors read {models_path}/<decision name>/ (relative to the config file)",
            )
        config["model_selection"] = {"ml": {"models_path": models_path}}
    config["models"] = models
    plugins = convert_prompt_guard(sections.prompt_guard, report)
    if plugins:
        config["plugins"] = plugins
    if signals.sections:
        config["signals"] = signals.sections
    if decisions:
        config["decisions"] = decisions
    config["default_model"] = default_model
    body = yaml.safe_dump(config, sort_keys=False, allow_unicode=True, width=120)
    header = [f"# llmswitch config converted from {source} by `llmswitch import vsr`."]
    header += [f"# {line}" for line in report.lines()]
    text_out = "\n".join(header) + "\n" + body
    return ImportResult(config, text_out, parse_config(text_out, source), report)


def _ml_block(sections: Sections, report: ImportReport) -> dict[str, Any]:
    """models_path, and the router-wide knn/kmeans/svm/mlp settings decisions inherit."""
    block = sections.ml.value if sections.ml else {}
    path = sections.ml.path if sections.ml else "global.router.model_selection.ml"
    defaults = {k: v for k, v in block.items() if k in ("knn", "kmeans", "svm", "mlp") and isinstance(v, dict)}
    models_path = block.get("models_path")
    for key in ("model_type", "embedding_dim"):
        if key in block:
            report.change(
                f"{path}.{key}",
                "llmswitch's selectors read its own features (MiniLM-L6 embedding + "
                "14-domain one-hot): retrain them with `llmswitch train selectors`",
            )
    if block.get("enabled") is False:
        report.change(f"{path}.enabled", "false: the decisions' learned algorithms are carried over all the same")
    for kind, params in defaults.items():
        report.extra_keys(params, f"{path}.{kind}", LEARNED_PARAMS[kind], PRETRAINED)
    report.extra_keys(block, path, ("enabled", "models_path", "model_type", "embedding_dim", *defaults))
    return {"defaults": defaults, "models_path": str(models_path) if models_path else None, "path": path}


def _listener_and_routing(sections: Sections, models: list[dict], report: ImportReport) -> dict[str, Any]:
    out: dict[str, Any] = {}
    listeners = sections.listeners.value if sections.listeners else []
    routing: dict[str, Any] = {}
    if isinstance(listeners, list) and listeners and isinstance(listeners[0], dict):
        first = listeners[0]
        listener = {k: first[k] for k in ("address", "port") if k in first}
        if listener:
            out["listener"] = listener
        if "timeout" in first:
            seconds = _seconds(first["timeout"])
            if seconds is None:
                report.not_mapped("listeners[0].timeout", f"{first['timeout']!r} is not a duration")
            else:
                routing["request_timeout_s"] = seconds
        report.extra_keys(
            first,
            "listeners[0]",
            ("name", "address", "port", "timeout"),
            {"api_keys": "llmswitch identifies tenants by budget.tenants (API key hashes)"},
        )
        for index in range(1, len(listeners)):
            report.not_mapped(f"listeners[{index}]", "llmswitch's Envoy has one listener")
    auto = _auto_models(sections, {m["name"] for m in models}, report)
    if auto:
        routing["auto_models"] = auto
    if routing:
        out["routing"] = routing
    return out


def _seconds(value: Any) -> float | None:
    if isinstance(value, int | float):
        return float(value)
    match = _DURATION.match(str(value))
    return float(match[1]) * _SECONDS[match[2]] if match else None


def _auto_models(sections: Sections, model_names: set[str], report: ImportReport) -> list[str]:
    router = sections.router.value if sections.router else {}
    given = list(router.get("auto_model_names") or [])
    if router.get("auto_model_name"):
        given.insert(0, router["auto_model_name"])
    auto = []
    for name in dict.fromkeys(str(n) for n in given):
        if not _NAME.match(name) or name in model_names:
            report.not_mapped("global.router.auto_model_names", f"{name!r} cannot be an llmswitch auto model name")
        else:
            auto.append(name)
    return auto

"""Decision plugins: the source's `plugins: [{type, configuration}]` onto llmswitch's plugin entries.

Each converted entry is validated by llmswitch's own plugin schema; one that fails, or a plugin type
llmswitch lacks, is reported by its path. A plugin with `enabled: false` is nothing to carry.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import TypeAdapter, ValidationError

from llmswitch.config.plugins import Plugin
from llmswitch.importers.report import ImportReport
from llmswitch.importers.vsr.safety import jailbreak_plugin, pii_plugin

_PLUGIN: TypeAdapter[Any] = TypeAdapter(Plugin)
SYSTEM_PROMPT_MODES = {"replace": "replace", "insert": "prepend"}


def _configuration(plugin: dict) -> dict:
    configuration = plugin.get("configuration")
    return configuration if isinstance(configuration, dict) else {}


def _system_prompt(plugin: dict, path: str, report: ImportReport) -> dict | None:
    configuration = _configuration(plugin)
    where = f"{path}.configuration"
    mode = str(configuration.get("mode") or "replace")
    if mode not in SYSTEM_PROMPT_MODES:
        report.not_mapped(f"{where}.mode", f"{mode!r}: expected replace or insert")
        return None
    if mode == "insert":
        report.change(f"{where}.mode", "insert: the text goes before the client's system prompt (llmswitch: prepend)")
    report.extra_keys(configuration, where, ("enabled", "system_prompt", "mode"))
    return {"type": "system_prompt", "text": configuration.get("system_prompt"), "mode": SYSTEM_PROMPT_MODES[mode]}


def _semantic_cache(plugin: dict, path: str, report: ImportReport) -> dict | None:
    configuration = _configuration(plugin)
    where = f"{path}.configuration"
    out: dict[str, Any] = {"type": "cache", "semantic": True}
    if "similarity_threshold" in configuration:
        out["similarity_threshold"] = configuration["similarity_threshold"]
        report.change(f"{where}.similarity_threshold", "kept; llmswitch embeds with MiniLM-L6, whose cosine scale may differ")
    if "ttl_seconds" in configuration:
        out["ttl_s"] = configuration["ttl_seconds"]
    reasons = {"embedding_model": "llmswitch's semantic cache uses its own encoder (MiniLM-L6)"}
    report.extra_keys(configuration, where, ("enabled", "similarity_threshold", "ttl_seconds"), reasons)
    return out


def _header_mutation(plugin: dict, path: str, report: ImportReport) -> dict | None:
    configuration = _configuration(plugin)
    where = f"{path}.configuration"
    assign: dict[str, str] = {}
    for key in ("add", "update"):
        for index, pair in enumerate(configuration.get(key) or []):
            if isinstance(pair, dict) and "name" in pair and "value" in pair:
                assign[str(pair["name"]).lower()] = str(pair["value"])
            else:
                report.not_mapped(f"{where}.{key}[{index}]", "expected {name, value}")
    remove = [str(name).lower() for name in configuration.get("delete") or []]
    report.extra_keys(configuration, where, ("enabled", "add", "update", "delete"))
    out: dict[str, Any] = {"type": "header_mutation"}
    if assign:
        out["set"] = assign
    if remove:
        out["remove"] = remove
    return out


PLUGINS: dict[str, Callable[[dict, str, ImportReport], dict | None]] = {
    "jailbreak": jailbreak_plugin,
    "pii": pii_plugin,
    "system_prompt": _system_prompt,
    "semantic-cache": _semantic_cache,
    "header_mutation": _header_mutation,
}
"""Plugin type -> converter into an entry of the llmswitch decision's `plugins` list."""


def convert_plugins(plugins: Any, path: str, report: ImportReport) -> list[dict]:
    """llmswitch plugin entries for a decision's plugins; each plugin llmswitch lacks is reported."""
    out = []
    for index, plugin in enumerate(plugins if isinstance(plugins, list) else []):
        plugin_path = f"{path}[{index}]"
        if not isinstance(plugin, dict):
            report.not_mapped(plugin_path, "expected a mapping")
            continue
        kind = str(plugin.get("type"))
        if _configuration(plugin).get("enabled") is False:
            continue
        converter = PLUGINS.get(kind)
        if converter is None:
            report.not_mapped(plugin_path, f"llmswitch has no {kind} plugin yet")
            continue
        converted = converter(plugin, plugin_path, report)
        if converted is None:
            continue
        try:
            _PLUGIN.validate_python(converted)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(p) for p in error["loc"][1:])
            report.not_mapped(plugin_path, f"not carried: {where}: {error['msg']}")
            continue
        out.append(converted)
    return out

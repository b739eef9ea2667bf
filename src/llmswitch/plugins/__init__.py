"""Decision plugins: one module per `type`, each an `Action` on the request that goes upstream.

| type            | module             | what it does                                                         |
|-----------------|--------------------|----------------------------------------------------------------------|
| system_prompt   | `system_prompt`    | insert, replace, prepend or append a system prompt                   |
| reasoning       | `reasoning`        | reasoning on/off/effort in the chosen model's dialect, fixing what it rejects |
| parameters      | `parameters`       | set, default, clamp or remove body parameters; set upstream headers  |
| header_mutation | `header_mutation`  | set or remove upstream request headers                               |
| cache           | `llmswitch.cache`  | opt in or out of the response cache, or override its settings        |
| pii             | `safety`           | redact, block or flag personal data and secrets (runs first)         |
| jailbreak       | `safety`           | block or flag jailbreak / prompt-injection attempts (runs first)     |

A request runs the top-level `plugins` and then its decision's, in list order, after budget
admission (the model is final); the cache lookup always runs last, whatever its place in the list,
so its key covers the final body. See `pipeline.actions` for the whole order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from llmswitch.cache import CacheLookup, ResponseCache
from llmswitch.config.safety import SAFETY_PLUGIN_TYPES
from llmswitch.config.schema import Config
from llmswitch.headers import SAFETY as SAFETY_HEADER
from llmswitch.pipeline.actions import Action
from llmswitch.plugins.header_mutation import HeaderMutation
from llmswitch.plugins.parameters import Parameters
from llmswitch.plugins.reasoning import Reasoning
from llmswitch.plugins.system_prompt import SystemPrompt

if TYPE_CHECKING:
    from llmswitch.telemetry.metrics import RouterMetrics

PluginBuilder = Callable[[Any, Config, "RouterMetrics | None"], Action]
REGISTRY: dict[str, PluginBuilder] = {
    "system_prompt": lambda plugin, config, metrics: SystemPrompt(plugin),
    "reasoning": lambda plugin, config, metrics: Reasoning(plugin, config.models, metrics),
    "parameters": lambda plugin, config, metrics: Parameters(plugin),
    "header_mutation": lambda plugin, config, metrics: HeaderMutation(plugin),
}
"""Plugin type -> its action's builder; `cache` is not here: it configures the cache lookup."""


def build_plugins(
    config: Config, metrics: RouterMetrics | None, cache: ResponseCache | None
) -> Callable[[str], list[Action]]:
    """decision name -> its plugin actions in order, the cache lookup last (for `build_actions`)."""
    settings = config.cache_settings()
    actions: dict[str, list[Action]] = {}
    for name, plugins in config.plugin_lists().items():
        built = [REGISTRY[p.type](p, config, metrics) for p in plugins if p.type in REGISTRY]
        if cache is not None and name in settings:
            built.append(CacheLookup(cache, name, settings[name]))
        actions[name] = built
    return lambda name: actions.get(name, [])


# The safety header's value: its findings, types and counts only (a generous bound).
_SAFETY_HEADER_BYTES = 160


def _headers_set_by(plugin: Any) -> dict[str, str]:
    if plugin.type == "parameters":
        return plugin.headers
    if plugin.type == "header_mutation":
        return plugin.assign
    if plugin.type in SAFETY_PLUGIN_TYPES:
        return {SAFETY_HEADER: "x" * _SAFETY_HEADER_BYTES}
    return {}


def headers_set(config: Config) -> list[str]:
    """The name of every upstream header some plugin of `config` sets."""
    return list(dict.fromkeys(name for plugins in config.plugin_lists().values() for p in plugins for name in _headers_set_by(p)))


def added_headers(config: Config) -> tuple[int, int]:
    """The most upstream headers (count, bytes) the plugins of any one request may set."""
    most = (0, 0)
    for plugins in config.plugin_lists().values():
        pairs = list({name: value for p in plugins for name, value in _headers_set_by(p).items()}.items())
        most = max(most, (len(pairs), sum(len(k) + len(v) for k, v in pairs)))
    return most


__all__ = ["REGISTRY", "added_headers", "build_plugins", "headers_set"]

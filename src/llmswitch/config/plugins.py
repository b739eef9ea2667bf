"""Decision plugins: `plugins: [{type: X, ...}]` on a decision or at the top level.

Each type is one model here and one module in `llmswitch.plugins`. They act on the request that
goes upstream, after the model is chosen, in list order. Reasoning dialects per model family are
declared on the model (`models[].reasoning_family`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from llmswitch.config.base import StrictModel
from llmswitch.config.safety import JailbreakPlugin, PiiPlugin
from llmswitch.headers import SAFETY as SAFETY_HEADER
from llmswitch.protocols.view import ClientApi

CLIENT_APIS: tuple[ClientApi, ...] = ("chat", "responses", "messages")
_HEADER_PATTERN = r"^[a-z0-9][a-z0-9_.-]*$"
UpstreamHeader = Annotated[str, Field(pattern=_HEADER_PATTERN, description="Lower-case HTTP header name.")]
# Headers Envoy or the router own: a plugin must not change them.
PROTECTED_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "upgrade",
        "x-selected-model",
        "x-llmswitch-decision",
        "x-llmswitch-budget",
        "x-llmswitch-cache-key",
        SAFETY_HEADER,
    }
)
# Body fields a parameters plugin may not touch: the model is the router's, the rest belongs to the client.
PROTECTED_PARAMETERS = frozenset({"model", "messages", "input", "stream", "system", "instructions", "prompt"})
OUTPUT_CAP = "max_tokens"
"""The parameters plugin's name for the output-token cap, whatever the client API calls it."""
Effort = Literal["none", "minimal", "low", "medium", "high"]


def _protected_headers(names: list[str] | dict[str, str], where: str) -> list[str]:
    return [f"{where}: {name!r} is set by Envoy or the router" for name in names if name in PROTECTED_HEADERS]


class SystemPromptPlugin(StrictModel):
    """Insert, replace or prepend a system prompt (chat: a system message; Responses: `instructions`;
    Messages: `system`)."""

    type: Literal["system_prompt"]
    text: str = Field(min_length=1)
    mode: Literal["insert", "replace", "prepend", "append"] = Field(
        "insert",
        description="insert: only when the request has none; replace: instead of the client's; prepend/append: "
        "joined to the client's (a blank line between), or inserted when it has none.",
    )
    role: Literal["system", "developer"] = Field("system", description="Chat: the role of an inserted message.")
    apis: list[ClientApi] = Field(list(CLIENT_APIS), min_length=1, description="The client APIs it applies to.")


class ReasoningPlugin(StrictModel):
    """Reasoning on or off, or its effort, in the dialect of the chosen model's `reasoning_family`."""

    type: Literal["reasoning"]
    enabled: bool = Field(True, description="false: reasoning off (OpenAI reasoning models: the lowest effort, low).")
    effort: Effort | None = Field(
        None, description="Effort when on; none switches reasoning off where the family can. Unset: the client's."
    )
    budget_tokens: int | None = Field(
        None, ge=1024, description="Thinking-token budget for families that take one (anthropic); default by effort."
    )

    @model_validator(mode="after")
    def _effort_needs_reasoning(self) -> ReasoningPlugin:
        if not self.enabled and (self.effort is not None or self.budget_tokens is not None):
            raise ValueError("effort and budget_tokens need enabled: true")
        return self


class Clamp(StrictModel):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Clamp:
        if self.min is None and self.max is None:
            raise ValueError("set min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("min must not exceed max")
        return self


class ParametersPlugin(StrictModel):
    """Set, default, clamp or remove body parameters, and set upstream headers.

    `max_tokens` names the output cap in every client API (chat: `max_completion_tokens` and
    `max_tokens`, Responses: `max_output_tokens`, Messages: `max_tokens`); other names are body keys.
    """

    type: Literal["parameters"]
    assign: dict[str, Any] = Field({}, alias="set", description="Overwrite these parameters.")
    defaults: dict[str, Any] = Field({}, description="Set these parameters when the request lacks them.")
    clamp: dict[str, Clamp] = Field(
        {}, description="Keep numeric parameters within bounds; a max caps a missing max_tokens too."
    )
    remove: list[str] = Field([], description="Drop these parameters.")
    headers: dict[UpstreamHeader, str] = Field({}, description="Set these upstream request headers.")

    @model_validator(mode="after")
    def _allowed(self) -> ParametersPlugin:
        problems = [
            f"{section}: {name!r} cannot be changed by a plugin"
            for section, names in (
                ("set", self.assign),
                ("defaults", self.defaults),
                ("clamp", self.clamp),
                ("remove", self.remove),
            )
            for name in names
            if name in PROTECTED_PARAMETERS
        ]
        problems += _protected_headers(self.headers, "headers")
        if not (self.assign or self.defaults or self.clamp or self.remove or self.headers):
            problems.append("set at least one of set, defaults, clamp, remove, headers")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class HeaderMutationPlugin(StrictModel):
    """Set or remove upstream request headers."""

    type: Literal["header_mutation"]
    assign: dict[UpstreamHeader, str] = Field({}, alias="set", description="Set these headers (replacing any value).")
    remove: list[UpstreamHeader] = Field([], description="Remove these headers.")

    @model_validator(mode="after")
    def _allowed(self) -> HeaderMutationPlugin:
        problems = _protected_headers(self.assign, "set") + _protected_headers(self.remove, "remove")
        problems += [f"remove: {name!r} is also set" for name in self.remove if name in self.assign]
        if not (self.assign or self.remove):
            problems.append("set at least one of set, remove")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class CachePlugin(StrictModel):
    """Opt a decision in or out of the response cache (`cache:`), or override its settings."""

    type: Literal["cache"]
    enabled: bool = True
    semantic: bool | None = Field(None, description="Semantic matching; default: cache.semantic.enabled.")
    similarity_threshold: float | None = Field(None, gt=0, le=1, description="Default: cache.semantic.threshold.")
    ttl_s: float | None = Field(None, gt=0, description="Default: cache.ttl_s.")


Plugin = Annotated[
    SystemPromptPlugin
    | ReasoningPlugin
    | ParametersPlugin
    | HeaderMutationPlugin
    | CachePlugin
    | PiiPlugin
    | JailbreakPlugin,
    Field(discriminator="type"),
]
PLUGIN_TYPES = frozenset(member.model_fields["type"].annotation.__args__[0] for member in Plugin.__origin__.__args__)


class ReasoningFamilySpec(StrictModel):
    """A reasoning dialect the built-in families do not cover, written into every body shape as given."""

    on: dict[str, Any] = Field({}, description="Merged into the body (nested keys merge) to switch reasoning on.")
    off: dict[str, Any] = Field({}, description="Merged into the body to switch reasoning off.")
    effort_field: str | None = Field(
        None, description="Dotted path that takes the effort level, e.g. reasoning_effort."
    )
    budget_field: str | None = Field(
        None, description="Dotted path that takes budget_tokens, e.g. thinking.budget_tokens."
    )
    drop_when_on: list[str] = Field([], description="Parameters the model rejects while reasoning; dropped then.")

    @model_validator(mode="after")
    def _does_something(self) -> ReasoningFamilySpec:
        if not (self.on or self.off or self.effort_field or self.budget_field):
            raise ValueError("set at least one of on, off, effort_field, budget_field")
        return self


ReasoningFamily = Literal["openai", "qwen3", "deepseek", "anthropic"] | ReasoningFamilySpec


def _headers_touched(plugin: Any) -> list[str]:
    if isinstance(plugin, ParametersPlugin):
        return list(plugin.headers)
    if isinstance(plugin, HeaderMutationPlugin):
        return [*plugin.assign, *plugin.remove]
    return []


def plugin_problems(plugins: list[Any], path: str, cluster_header: str) -> list[str]:
    """Cross-field problems of one plugin list: at most one cache plugin, the routing header untouched."""
    caches = [index for index, plugin in enumerate(plugins) if isinstance(plugin, CachePlugin)]
    problems = [f"{path}[{index}]: only one cache plugin per list" for index in caches[1:]]
    problems += [
        f"{path}[{index}]: {cluster_header!r} is the routing header, which a plugin cannot change"
        for index, plugin in enumerate(plugins)
        if cluster_header in _headers_touched(plugin)
    ]
    return problems

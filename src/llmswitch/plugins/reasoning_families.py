"""Reasoning dialects per model family, and the request fixes each family needs while it reasons.

- openai (o-series, gpt-5): chat `reasoning_effort`, Responses `reasoning.effort`, Messages
  `output_config.effort`; off is effort `low`. Sampling parameters are dropped and chat
  `max_tokens` is renamed `max_completion_tokens`.
- qwen3 (vLLM): `chat_template_kwargs.enable_thinking`.
- deepseek (V3.1+ on vLLM): `chat_template_kwargs.thinking`; `logprobs`, `top_logprobs` dropped.
- anthropic: `thinking: {type: enabled, budget_tokens}` or `{type: disabled}`; `temperature` other
  than 1 and `top_k` dropped, `top_p` raised to 0.95, an output cap at or below the budget raised
  by it, a forced tool choice set to auto.
- custom (`ReasoningFamilySpec`): `on` / `off` merged in, `effort_field`, `budget_field`;
  `drop_when_on` dropped.

Effort `none` switches reasoning off where a family can (all but openai, which writes `none` as given).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from llmswitch.config.plugins import ReasoningFamily, ReasoningFamilySpec
from llmswitch.plugins.body import deep_merge, is_number, output_cap, set_path
from llmswitch.protocols.view import ClientApi


@dataclass(frozen=True)
class ReasoningSetting:
    enabled: bool
    effort: str | None = None
    budget_tokens: int | None = None

    @property
    def on(self) -> bool:
        return self.enabled and self.effort != "none"


@dataclass(frozen=True)
class Fix:
    """A parameter changed because the model would reject it."""

    parameter: str
    action: str
    detail: str


class Family(Protocol):
    def apply(self, data: dict[str, Any], api: ClientApi, setting: ReasoningSetting) -> list[Fix]: ...


def _drop(data: dict[str, Any], names: tuple[str, ...] | list[str], why: str) -> list[Fix]:
    dropped = [name for name in names if name in data]
    for name in dropped:
        del data[name]
    return [Fix(name, "dropped", f"dropped {name} ({why})") for name in dropped]


def _switch_kwarg(data: dict[str, Any], key: str, on: bool) -> None:
    kwargs = data.get("chat_template_kwargs")
    data["chat_template_kwargs"] = {**(kwargs if isinstance(kwargs, dict) else {}), key: on}


class OpenAI:
    """o-series and gpt-5 models: always reasoning, by effort; they reject sampling parameters."""

    OFF_EFFORT = "low"
    REJECTED = (
        "temperature",
        "top_p",
        "top_k",
        "presence_penalty",
        "frequency_penalty",
        "logprobs",
        "top_logprobs",
        "logit_bias",
    )
    _EFFORT_FIELDS: dict[ClientApi, str] = {
        "chat": "reasoning_effort",
        "responses": "reasoning.effort",
        "messages": "output_config.effort",
    }

    def apply(self, data: dict[str, Any], api: ClientApi, setting: ReasoningSetting) -> list[Fix]:
        effort = setting.effort if setting.enabled else self.OFF_EFFORT
        if effort is not None:
            set_path(data, self._EFFORT_FIELDS[api], effort)
        fixes = _drop(data, self.REJECTED, "OpenAI reasoning models reject it")
        if api == "chat" and "max_tokens" in data:
            value = data.pop("max_tokens")
            if "max_completion_tokens" in data:
                fixes.append(Fix("max_tokens", "dropped", "dropped max_tokens (max_completion_tokens is set)"))
            else:
                data["max_completion_tokens"] = value
                fixes.append(Fix("max_tokens", "renamed", "renamed max_tokens to max_completion_tokens"))
        return fixes


class ChatTemplateSwitch:
    """vLLM-served open models that switch thinking with a chat template argument."""

    def __init__(self, key: str, rejected_while_on: tuple[str, ...] = ()) -> None:
        self.key = key
        self.rejected_while_on = rejected_while_on

    def apply(self, data: dict[str, Any], api: ClientApi, setting: ReasoningSetting) -> list[Fix]:
        _switch_kwarg(data, self.key, setting.on)
        return _drop(data, self.rejected_while_on, "rejected while thinking") if setting.on else []


class Anthropic:
    """Claude extended thinking: a token budget below max_tokens, default sampling, no forced tool."""

    BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 24576}
    DEFAULT_BUDGET = 8192
    MIN_TOP_P = 0.95

    def apply(self, data: dict[str, Any], api: ClientApi, setting: ReasoningSetting) -> list[Fix]:
        if not setting.on:
            data["thinking"] = {"type": "disabled"}
            return []
        budget = setting.budget_tokens or self.BUDGETS.get(setting.effort or "") or self._client_budget(data)
        data["thinking"] = {"type": "enabled", "budget_tokens": budget}
        fixes = []
        if "temperature" in data and data["temperature"] != 1:
            fixes += _drop(data, ("temperature",), "thinking needs the default temperature")
        fixes += _drop(data, ("top_k",), "not allowed with thinking")
        top_p = data.get("top_p")
        if is_number(top_p) and top_p < self.MIN_TOP_P:
            data["top_p"] = self.MIN_TOP_P
            fixes.append(
                Fix("top_p", "raised", f"raised top_p {top_p} to {self.MIN_TOP_P} (the minimum with thinking)")
            )
        cap = output_cap(data, api)
        if cap is not None and cap[1] <= budget:
            field, value = cap
            data[field] = int(value) + budget
            fixes.append(
                Fix(field, "raised", f"raised {field} {value} to {data[field]} (thinking budget {budget} on top)")
            )
        fixes += self._unforce_tool_choice(data, api)
        return fixes

    def _client_budget(self, data: dict[str, Any]) -> int:
        thinking = data.get("thinking")
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        return budget if isinstance(budget, int) and budget >= 1024 else self.DEFAULT_BUDGET

    @staticmethod
    def _unforce_tool_choice(data: dict[str, Any], api: ClientApi) -> list[Fix]:
        choice = data.get("tool_choice")
        kind = choice.get("type") if isinstance(choice, dict) else choice
        forced = {"any", "tool"} if api == "messages" else {"required", "function", "allowed_tools", "custom"}
        if kind not in forced:
            return []
        data["tool_choice"] = {"type": "auto"} if api == "messages" else "auto"
        return [
            Fix(
                "tool_choice", "relaxed", f"set tool_choice {kind} to auto (a forced tool is not allowed with thinking)"
            )
        ]


class Custom:
    def __init__(self, spec: ReasoningFamilySpec) -> None:
        self.spec = spec

    def apply(self, data: dict[str, Any], api: ClientApi, setting: ReasoningSetting) -> list[Fix]:
        spec = self.spec
        deep_merge(data, spec.on if setting.on else spec.off)
        if not setting.on:
            return []
        if setting.effort is not None and spec.effort_field:
            set_path(data, spec.effort_field, setting.effort)
        if setting.budget_tokens is not None and spec.budget_field:
            set_path(data, spec.budget_field, setting.budget_tokens)
        return _drop(data, spec.drop_when_on, "the model's reasoning_family rejects it while reasoning")


_BUILTIN: dict[str, Family] = {
    "openai": OpenAI(),
    "qwen3": ChatTemplateSwitch("enable_thinking"),
    "deepseek": ChatTemplateSwitch("thinking", rejected_while_on=("logprobs", "top_logprobs")),
    "anthropic": Anthropic(),
}


def family(declared: ReasoningFamily | None) -> Family | None:
    """The dialect a model's `reasoning_family` declares, or None when it declares none."""
    if declared is None:
        return None
    if isinstance(declared, str):
        return _BUILTIN[declared]
    return Custom(declared)

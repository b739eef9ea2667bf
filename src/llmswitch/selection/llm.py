"""`llm`: asks an OpenAI-compatible model which of the decision's models should answer.

The router model sees the models' `description`s and the user's text, and must answer JSON
`{"model": <one of the names>}` (response_format json_schema with an enum). On a timeout, an
HTTP or transport error, or an answer outside the enum, the configured `fallback_model` is used
and the reason says why. The call's latency and cost go into `Selection.details`, and into
`llmswitch_llm_router_*` metrics when the context carries metrics.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import httpx

from llmswitch.config.algorithms import LlmAlgorithm, RouterPricing
from llmswitch.request import RouteRequest
from llmswitch.selection.artifact import config_error
from llmswitch.selection.base import Selection, SelectorContext

ALGORITHM = "llm"
SYSTEM_PROMPT = (
    "You are a router. Choose the single model best suited to answer the user's request, "
    "balancing answer quality against cost. Reply with JSON {\"model\": NAME} only.\n\nModels:\n"
)


def response_format(models: list[str]) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"model": {"type": "string", "enum": models}},
        "required": ["model"],
        "additionalProperties": False,
    }
    return {"type": "json_schema", "json_schema": {"name": "route", "strict": True, "schema": schema}}


def parse_choice(body: dict[str, Any], models: list[str]) -> str | None:
    """The model named by a chat completion, or None when the answer is unusable."""
    try:
        content = body["choices"][0]["message"]["content"]
        name = json.loads(content)["model"]
    except (KeyError, IndexError, TypeError, ValueError):
        return None
    return name if name in models else None


class LlmSelector:
    algorithm = ALGORITHM

    def __init__(self, context: SelectorContext, client: httpx.AsyncClient | None = None) -> None:
        params = context.decision.algorithm
        assert isinstance(params, LlmAlgorithm)
        p = params.llm
        self.models = [ref.model for ref in context.decision.model_refs]
        if p.fallback_model not in self.models:
            raise config_error(context, "llm.fallback_model", f"{p.fallback_model!r} is not one of this decision's modelRefs")
        self._headers = {}
        if p.api_key_env is not None:
            key = os.environ.get(p.api_key_env)
            if not key:
                raise config_error(context, "llm.api_key_env", f"environment variable {p.api_key_env} is not set")
            self._headers["authorization"] = f"Bearer {key}"
        configs = {m.name: m for m in context.config.models}
        described = "\n".join(f"- {m}: {configs[m].description or 'no description'}" for m in self.models)
        self._system = SYSTEM_PROMPT + described
        self._url = p.base_url.rstrip("/") + "/chat/completions"
        self._params = p
        router_model = configs.get(p.model)
        self._pricing: RouterPricing | None = p.pricing or (
            RouterPricing.model_validate(router_model.pricing.model_dump()) if router_model and router_model.pricing else None
        )
        self._metrics = context.metrics
        self._client = client

    def _body(self, request: RouteRequest) -> dict[str, Any]:
        text = request.user_text[-self._params.max_prompt_chars :]
        return {
            "model": self._params.model,
            "messages": [{"role": "system", "content": self._system}, {"role": "user", "content": text}],
            "response_format": response_format(self.models),
            "temperature": 0,
            "max_tokens": 64,
        }

    def _cost(self, usage: Any) -> float | None:
        if self._pricing is None or not isinstance(usage, dict):
            return None
        prompt, completion = usage.get("prompt_tokens") or 0, usage.get("completion_tokens") or 0
        return (prompt * self._pricing.input_per_1m + completion * self._pricing.output_per_1m) / 1e6

    async def _ask(self, request: RouteRequest) -> tuple[str | None, str, dict[str, Any] | None]:
        """(model or None, result label, response body)."""
        if self._client is None:
            self._client = httpx.AsyncClient()
        timeout = self._params.timeout_ms / 1000
        try:
            async with asyncio.timeout(timeout):  # the whole call, not each read
                response = await self._client.post(self._url, json=self._body(request), headers=self._headers,
                                                   timeout=timeout)
        except (TimeoutError, httpx.TimeoutException):
            return None, "timeout", None
        except httpx.HTTPError:
            return None, "error", None
        if response.status_code != 200:
            return None, "error", None
        try:
            body = response.json()
        except ValueError:
            return None, "invalid", None
        choice = parse_choice(body, self.models)
        return choice, ("ok" if choice else "invalid"), body

    async def select_async(self, request: RouteRequest) -> Selection:
        started = time.perf_counter()
        choice, result, body = await self._ask(request)
        seconds = time.perf_counter() - started
        details: dict[str, str | float] = {"router_model": self._params.model, "router_result": result,
                                           "router_latency_ms": round(seconds * 1000, 3)}
        cost = self._cost(body.get("usage") if body else None)
        if cost is not None:
            details["router_cost"] = cost
        if self._metrics is not None:
            self._metrics.llm_router_calls.labels(result).inc()
            self._metrics.llm_router_seconds.observe(seconds)
            if cost is not None:
                self._metrics.llm_router_cost.inc(cost)
        if choice is None:
            fallback = self._params.fallback_model
            return Selection(fallback, f"llm: router answer unusable ({result}); fell back to {fallback}", details)
        return Selection(choice, f"llm: {self._params.model} chose {choice}", details)

"""Scoring the `llm` selector offline: the real LlmSelector asks a router model about each query.

The decision is built from the evaluated models (their `description` and `pricing` from a config
when one is given), so the router model sees exactly the prompt it sees in production. Calls run
concurrently up to a bound; the router model's own latency and cost are reported next to the
routing results. Fallbacks (timeouts, unusable answers) count as the fallback model's choice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from llmswitch.budget import BudgetGuard, MemoryStore
from llmswitch.config import parse_config
from llmswitch.protocols.openai_chat import parse_chat
from llmswitch.request import RouteRequest
from llmswitch.selection.base import SelectorContext
from llmswitch.selection.llm import LlmSelector


@dataclass(frozen=True)
class LlmRouter:
    base_url: str
    model: str
    fallback_model: str | None = None
    """Default: the cheapest evaluated model (first in the data when costs are unknown)."""
    api_key_env: str | None = None
    timeout_ms: int = 10_000
    concurrency: int = 8


@dataclass
class LlmRun:
    choices: list[str]
    results: Counter[str] = field(default_factory=Counter)
    """ok / timeout / error / invalid counts."""
    latency_ms: list[float] = field(default_factory=list)
    cost: float = 0.0


def _config_yaml(models: Sequence[str], router: LlmRouter, fallback: str, base: Path | None) -> tuple[str, Path]:
    import yaml

    described = {}
    if base is not None:
        loaded = yaml.safe_load(base.read_text(encoding="utf-8")) or {}
        described = {m["name"]: m for m in loaded.get("models", []) if isinstance(m, dict) and "name" in m}
    entries = []
    for i, name in enumerate(models):
        entry = {"name": name, "endpoint": f"127.0.0.1:{10000 + i}"}
        for key in ("description", "pricing"):
            if key in described.get(name, {}):
                entry[key] = described[name][key]
        entries.append(entry)
    algorithm = {"type": "llm", "llm": {"base_url": router.base_url, "model": router.model,
                                        "timeout_ms": router.timeout_ms, "fallback_model": fallback,
                                        **({"api_key_env": router.api_key_env} if router.api_key_env else {})}}
    data = {"version": "v1", "models": entries, "default_model": fallback,
            "signals": {"keywords": [{"name": "all", "keywords": ["offline"]}]},
            "decisions": [{"name": "offline", "rules": {"type": "keyword", "name": "all"},
                           "modelRefs": [{"model": m} for m in models], "algorithm": algorithm}]}
    return yaml.safe_dump(data), (base.parent if base is not None else Path.cwd())


async def _run(context: SelectorContext, queries: Sequence[str], concurrency: int) -> LlmRun:
    async with httpx.AsyncClient() as client:
        return await _ask_all(LlmSelector(context, client), queries, concurrency)


async def _ask_all(selector: LlmSelector, queries: Sequence[str], concurrency: int) -> LlmRun:
    gate = asyncio.Semaphore(concurrency)

    async def one(text: str):
        chat = parse_chat({"model": "auto", "messages": [{"role": "user", "content": text}]}, "auto")
        async with gate:
            return await selector.select_async(RouteRequest({}, chat, None))

    selections = await asyncio.gather(*(one(q) for q in queries))
    run = LlmRun([s.model for s in selections])
    for s in selections:
        run.results[str(s.details.get("router_result", "ok"))] += 1
        run.latency_ms.append(float(s.details.get("router_latency_ms", 0.0)))
        run.cost += float(s.details.get("router_cost", 0.0))
    return run


def llm_choices(queries: Sequence[str], models: Sequence[str], router: LlmRouter, fallback: str,
                config: Path | None = None) -> LlmRun:
    """The llm selector's choice for each query (in order), with the router model's own figures."""
    text, base_dir = _config_yaml(models, router, router.fallback_model or fallback, config)
    loaded = parse_config(text, str(base_dir / "offline-llm.yaml"))
    cfg = loaded.config
    context = SelectorContext(cfg, cfg.decisions[0], 0, loaded.source, base_dir, BudgetGuard(cfg.budget, MemoryStore()))
    return asyncio.run(_run(context, queries, router.concurrency))

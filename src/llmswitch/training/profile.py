"""`llmswitch profile`: sends a query set to the configured models and writes benchmark records.

    llmswitch profile --config config.yaml --queries queries.jsonl --out benchmark.jsonl

Input JSONL rows (vLLM Semantic Router's query format works as written): `query`, `category`,
`ground_truth`, `metric` (em_mc, gsm8k, math, f1, code_eval, commongen_coverage, cem; the peer's
spellings GSM8K, MATH, f1_score too; default cem), `choices` (for em_mc: a list, or a string
"A) x B) y", one option per line, or comma-separated), optional `tolerance` (relative, for numeric
answers) and `query_id`. Every (query, model) pair is one chat
completion, sent concurrently with a bound (`--concurrency`). Each record carries the answer, its
score, latency, token counts (from `usage`, else estimated) and cost (`models[].pricing`).

Optional LLM-as-judge (`--judge-url`, `--judge-model`): a 0-100 quality score per answer (then
`performance` = score / 100, and the metric's score is kept as `metric_score`), and with
`--judge-criticality` a mission- and time-criticality judgment (0-10) per prompt, stored as
`mission_criticality` / `time_criticality` (the qos selector trains on them).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from llmswitch.budget import request_cost
from llmswitch.config import load_config
from llmswitch.config.models import ModelConfig
from llmswitch.training import module_main
from llmswitch.training.benchmark import BenchmarkRecord, estimate_tokens
from llmswitch.training.scoring import NUMERIC_TOLERANCE, canonical_metric, parse_choices, score

QUALITY_RUBRIC = (
    "You grade an AI assistant's answer. Score 0-100: 90-100 correct, complete and clear; 70-89 correct with "
    "minor gaps; 40-69 partly correct or missing key parts; 10-39 mostly wrong or unhelpful; 0-9 wrong, empty "
    "or off-topic. If a reference answer is given, correctness against it dominates. Reply with JSON "
    '{"score": N} only.'
)
CRITICALITY_RUBRIC = (
    "Rate the user's request. mission_criticality 0-10: how costly a wrong answer would be (0 casual chat, "
    "10 medical, legal or safety-critical). time_criticality 0-10: how much a fast answer matters (0 can "
    'wait, 10 interactive and urgent). Reply with JSON {"mission_criticality": N, "time_criticality": N} only.'
)


@dataclass(frozen=True)
class Query:
    query_id: str
    query: str
    category: str
    ground_truth: str
    metric: str
    choices: tuple[str, ...]
    tolerance: float = NUMERIC_TOLERANCE


@dataclass(frozen=True)
class Endpoint:
    """An OpenAI-compatible chat endpoint."""

    url: str
    model: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Judge:
    endpoint: Endpoint
    criticality: bool = False


def read_queries(path: Path) -> list[Query]:
    """The query set; a bad row raises ValueError naming the file and line."""
    queries = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                if not isinstance(row, dict) or not isinstance(row.get("query"), str) or not row["query"]:
                    raise ValueError("needs a non-empty string `query`")
                truth = row.get("ground_truth")
                truth = "" if truth is None else json.dumps(truth) if isinstance(truth, list) else str(truth)
                queries.append(Query(
                    query_id=str(row.get("query_id") or row.get("id") or f"{path.stem}/{len(queries)}"),
                    query=row["query"],
                    category=row.get("category") or "",
                    ground_truth=truth,
                    metric=canonical_metric(row.get("metric")),
                    choices=parse_choices(row.get("choices")),
                    tolerance=float(row.get("tolerance") or NUMERIC_TOLERANCE),
                ))
            except ValueError as exc:  # json.JSONDecodeError is a ValueError
                raise ValueError(f"{path}:{number}: {exc}") from None
    return queries


def _bearer(env: str | None) -> dict[str, str]:
    if env is None:
        return {}
    key = os.environ.get(env)
    if not key:
        raise ValueError(f"environment variable {env} is not set")
    return {"authorization": f"Bearer {key}"}


def model_endpoint(model: ModelConfig) -> Endpoint:
    scheme = "https" if model.tls else "http"
    address = model.endpoint or model.endpoints[0]
    return Endpoint(f"{scheme}://{address}/v1/chat/completions", model.body_model, _bearer(model.api_key_env))


def prompt_text(query: Query) -> str:
    if not query.choices or query.query.rstrip().endswith("Answer:"):
        return query.query
    options = "\n".join(f"{chr(65 + i)}. {c}" for i, c in enumerate(query.choices))
    return f"{query.query}\n{options}\nAnswer with the letter of the correct option."


async def chat(client: httpx.AsyncClient, endpoint: Endpoint, messages: list[dict], **extra: Any) -> dict:
    response = await client.post(endpoint.url, json={"model": endpoint.model, "messages": messages, **extra},
                                 headers=endpoint.headers)
    response.raise_for_status()
    return response.json()


def _json_answer(body: dict) -> dict:
    return json.loads(body["choices"][0]["message"]["content"])


async def judge_quality(client: httpx.AsyncClient, judge: Judge, query: Query, answer: str) -> float | None:
    reference = f"\n\n[Reference answer]\n{query.ground_truth}" if query.ground_truth else ""
    user = f"[Question]\n{prompt_text(query)}{reference}\n\n[Answer]\n{answer}"
    try:
        body = await chat(client, judge.endpoint, [{"role": "system", "content": QUALITY_RUBRIC},
                                                   {"role": "user", "content": user}], temperature=0)
        return max(0.0, min(100.0, float(_json_answer(body)["score"])))
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError):
        return None


async def judge_criticality(client: httpx.AsyncClient, judge: Judge, query: Query) -> tuple[float, float] | None:
    try:
        body = await chat(client, judge.endpoint, [{"role": "system", "content": CRITICALITY_RUBRIC},
                                                   {"role": "user", "content": prompt_text(query)}], temperature=0)
        answer = _json_answer(body)
        clip = lambda v: max(0.0, min(10.0, float(v)))  # noqa: E731
        return clip(answer["mission_criticality"]), clip(answer["time_criticality"])
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError):
        return None


async def profile_one(
    client: httpx.AsyncClient, model: ModelConfig, endpoint: Endpoint, query: Query, max_tokens: int,
    judge: Judge | None,
) -> dict[str, Any]:
    """One benchmark record (as a dict, with any judge fields) for `model` answering `query`."""
    text = prompt_text(query)
    started = time.perf_counter()
    error = None
    try:
        body = await chat(client, endpoint, [{"role": "user", "content": text}], max_tokens=max_tokens, temperature=0)
        answer = body["choices"][0]["message"].get("content") or ""
        usage = body.get("usage") or {}
    except (httpx.HTTPError, KeyError, IndexError, TypeError, ValueError) as exc:
        body, answer, usage, error = {}, "", {}, f"{type(exc).__name__}: {exc}"
    elapsed = time.perf_counter() - started
    prompt_tokens = int(usage.get("prompt_tokens") or estimate_tokens(text))
    completion_tokens = int(usage.get("completion_tokens") or (estimate_tokens(answer) if answer else 0))
    metric_score = 0.0 if error else await asyncio.to_thread(
        score, query.metric, answer, query.ground_truth, query.choices, query.tolerance)
    record = BenchmarkRecord(
        query=query.query, category=query.category, model_name=model.name, response=answer,
        ground_truth=query.ground_truth, performance=metric_score, response_time=elapsed,
        prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
        cost=request_cost(model, prompt_tokens, completion_tokens), query_id=query.query_id,
    ).model_dump()
    if error:
        record["error"] = error
    elif judge is not None:
        quality = await judge_quality(client, judge, query, answer)
        if quality is not None:
            record.update(performance=quality / 100.0, metric_score=metric_score, judge_score=quality)
    return record


async def profile(
    queries: Sequence[Query], models: Sequence[ModelConfig], concurrency: int = 8, max_tokens: int = 512,
    timeout_s: float = 120.0, judge: Judge | None = None, progress: bool = True,
) -> list[dict[str, Any]]:
    """Benchmark records for every (query, model), in query order then model order."""
    from tqdm import tqdm

    gate = asyncio.Semaphore(concurrency)
    endpoints = {m.name: model_endpoint(m) for m in models}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as client:
        bar = tqdm(total=len(queries) * len(models), desc="profiling", unit="request", disable=not progress)

        async def one(query: Query, model: ModelConfig) -> dict[str, Any]:
            async with gate:
                record = await profile_one(client, model, endpoints[model.name], query, max_tokens, judge)
            bar.update()
            return record

        async def criticality(query: Query) -> tuple[float, float] | None:
            async with gate:
                return await judge_criticality(client, judge, query) if judge is not None else None

        try:
            records = await asyncio.gather(*(one(q, m) for q in queries for m in models))
            judged = await asyncio.gather(*(criticality(q) for q in queries)) if judge and judge.criticality else []
        finally:
            bar.close()
    for index, pair in enumerate(judged):
        if pair is not None:
            for record in records[index * len(models) : (index + 1) * len(models)]:
                record.update(mission_criticality=pair[0], time_criticality=pair[1])
    return list(records)


def write_jsonl(records: Sequence[dict[str, Any]], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, required=True, help="llmswitch config naming the models.")
    parser.add_argument("--queries", type=Path, required=True, help="JSONL query set.")
    parser.add_argument("--out", type=Path, required=True, help="Benchmark JSONL to write.")
    parser.add_argument("--models", default=None, help="Comma-separated subset of the config's models.")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--timeout", type=float, default=120.0, help="Seconds per request.")
    parser.add_argument("--limit", type=int, default=None, help="Profile only the first N queries.")
    parser.add_argument("--judge-url", default=None, help="OpenAI-compatible chat completions URL of the judge.")
    parser.add_argument("--judge-model", default=None)
    parser.add_argument("--judge-api-key-env", default=None)
    parser.add_argument("--judge-criticality", action="store_true", help="Also judge mission/time criticality.")


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config).config
    wanted = [m.strip() for m in args.models.split(",")] if args.models else [m.name for m in config.models]
    unknown = set(wanted) - {m.name for m in config.models}
    if unknown:
        raise SystemExit(f"unknown models {sorted(unknown)} (not in {args.config})")
    models = [config.model(name) for name in wanted]
    try:
        queries = read_queries(args.queries)[: args.limit]
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    judge = None
    if args.judge_url:
        endpoint = Endpoint(args.judge_url, args.judge_model or "judge", _bearer(args.judge_api_key_env))
        judge = Judge(endpoint, args.judge_criticality)
    records = asyncio.run(profile(queries, models, args.concurrency, args.max_tokens, args.timeout, judge))
    write_jsonl(records, args.out)
    failed = sum(1 for r in records if "error" in r)
    print(json.dumps({"records": len(records), "failed": failed, "out": str(args.out)}))
    return 1 if failed == len(records) and records else 0


def main(argv: list[str] | None = None) -> int:
    return module_main(__doc__, add_arguments, run, argv)


if __name__ == "__main__":
    raise SystemExit(main())

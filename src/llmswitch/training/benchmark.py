"""The benchmark record: one JSONL line per (query, model).

The fields follow the per-model benchmark format of vLLM Semantic Router
(``query, category, model_name, response, ground_truth, performance,
response_time``) plus ``prompt_tokens``, ``completion_tokens``, ``cost`` and
``query_id``. Files in the peer's format load as written (docs/datasets.md):

- ``query_id`` missing: the query text is the id.
- ``prompt_tokens`` / ``completion_tokens`` missing: estimated from the query and
  the response (four characters a token; 0 completion tokens without a response).
- ``cost`` missing: tokens times the model's price where one is known (a config's
  ``models[].pricing``, else the built-in table), else unknown (``None``).
- ``response_time`` missing: unknown (``None``); latency terms are then left out.

A bad line is reported as ``file:line: field: problem``; a performance slightly
outside [0, 1] (a metric that can go negative) can be clipped instead.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from llmswitch.training.pricing import PRICES, Price

CHARS_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    """Token count estimate: one token per four characters, at least one."""
    return max(1, math.ceil(len(text) / CHARS_PER_TOKEN))


class BenchmarkRecord(BaseModel):
    """How one model did on one query."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    query: str = Field(min_length=1)
    category: str = ""
    model_name: str = Field(min_length=1)
    response: str = ""
    ground_truth: str = ""
    performance: float = Field(ge=0.0, le=1.0, description="quality in [0, 1], higher is better")
    response_time: float | None = Field(None, ge=0.0, description="end-to-end latency in seconds; None: unknown")
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    cost: float | None = Field(None, ge=0.0, description="US dollars for this request; None: unknown")
    query_id: str = ""

    @model_validator(mode="before")
    @classmethod
    def _derive_missing(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if v is not None or k in ("response_time", "cost")}
        for text_field in ("category", "response", "ground_truth", "query_id"):
            if text_field in data and not isinstance(data[text_field], str):
                data[text_field] = json.dumps(data[text_field]) if isinstance(data[text_field], list | dict) \
                    else str(data[text_field])
        if not data.get("query_id"):
            data["query_id"] = data.get("query", "")
        if "prompt_tokens" not in data and isinstance(data.get("query"), str):
            data["prompt_tokens"] = estimate_tokens(data["query"])
        if "completion_tokens" not in data:
            response = data.get("response") or ""
            data["completion_tokens"] = estimate_tokens(response) if response else 0
        return data


class BenchmarkFileError(ValueError):
    """A benchmark file that cannot be read; the message names the file, line and field."""


@dataclass
class LoadedRecords:
    records: list[BenchmarkRecord]
    notes: list[str] = field(default_factory=list)
    """What was derived or changed while reading, one line each (shown in reports)."""


DERIVABLE = ("prompt_tokens", "completion_tokens", "cost", "response_time", "query_id")


def _problem(path: Path, line: int, error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or "record"
    value = f" (got {first['input']!r})" if not isinstance(first.get("input"), dict) else ""
    return f"{path}:{line}: {where}: {first['msg']}{value}"


def _clip_performance(row: dict[str, Any]) -> bool:
    value = row.get("performance")
    if isinstance(value, int | float) and not isinstance(value, bool) and not 0.0 <= value <= 1.0:
        row["performance"] = min(1.0, max(0.0, float(value)))
        return True
    return False


def load_records(
    path: Path, clip_performance: bool = False, prices: Mapping[str, Price] | None = None
) -> LoadedRecords:
    """Read and validate a JSONL benchmark file; blank lines are skipped.

    `prices` (model -> price) price records without ``cost``; the built-in table is the fallback.
    Raises BenchmarkFileError naming the file, line and field of the first bad record.
    """
    table = {**PRICES, **(prices or {})}
    records: list[BenchmarkRecord] = []
    missing: Counter[str] = Counter()
    priced: Counter[str] = Counter()
    clipped = 0
    try:
        lines = path.read_text(encoding="utf-8").split("\n")  # not splitlines(): JSON strings may hold U+2028
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchmarkFileError(f"{path}: cannot read: {exc}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BenchmarkFileError(f"{path}:{number}: not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(row, dict):
            raise BenchmarkFileError(f"{path}:{number}: expected a JSON object, got {type(row).__name__}")
        missing.update(f for f in DERIVABLE if row.get(f) is None)
        if clip_performance and _clip_performance(row):
            clipped += 1
        try:
            record = BenchmarkRecord.model_validate(row)
        except ValidationError as exc:
            hint = ""
            if any(e["loc"] == ("performance",) for e in exc.errors()) and not clip_performance:
                hint = "; pass --clip-performance to clip scores into [0, 1]"
            raise BenchmarkFileError(_problem(path, number, exc) + hint) from None
        if record.cost is None and record.model_name in table:
            record = record.model_copy(update={"cost": table[record.model_name].cost(
                record.prompt_tokens, record.completion_tokens)})
            priced[record.model_name] += 1
        records.append(record)
    if not records:
        raise BenchmarkFileError(f"{path}: no records")
    return LoadedRecords(records, _notes(records, missing, priced, clipped))


def _notes(records: list[BenchmarkRecord], missing: Counter[str], priced: Counter[str], clipped: int) -> list[str]:
    notes = []
    n = len(records)
    for name, how in (("prompt_tokens", "estimated from the query (4 characters a token)"),
                      ("completion_tokens", "estimated from the response (0 without one)"),
                      ("query_id", "the query text")):
        if missing[name]:
            notes.append(f"{name} missing in {missing[name]} of {n} records: {how}")
    if priced:
        notes.append("cost missing; priced from tokens: " + ", ".join(f"{m} ({k} records)" for m, k in priced.items()))
    unpriced = sorted({r.model_name for r in records if r.cost is None})
    if unpriced:
        notes.append(f"cost unknown for {unpriced} (no `cost` and no price): cost figures are left out")
    if missing["response_time"]:
        notes.append(f"response_time missing in {missing['response_time']} of {n} records: latency terms are off")
    if clipped:
        notes.append(f"performance clipped into [0, 1] in {clipped} records")
    return notes


def read_records(
    path: Path, clip_performance: bool = False, prices: Mapping[str, Price] | None = None
) -> list[BenchmarkRecord]:
    """The records of a JSONL benchmark file (see load_records)."""
    return load_records(path, clip_performance, prices).records


def write_records(records: Iterable[BenchmarkRecord], path: Path) -> Path:
    """Write records as JSONL (UTF-8, one object per line); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(record.model_dump_json())
            out.write("\n")
    return path

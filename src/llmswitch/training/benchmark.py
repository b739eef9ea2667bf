"""The benchmark record: one JSONL line per (query, model).

The fields follow the per-model benchmark format of vLLM Semantic Router
(``query, category, model_name, response, ground_truth, performance,
response_time``) plus ``prompt_tokens``, ``completion_tokens`` and ``cost``.
``query_id`` tells apart identical prompts that occur more than once in a data
set (MMLU has 105 such pairs); files without it get the query text as id.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator


class BenchmarkRecord(BaseModel):
    """How one model did on one query."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    query: str
    category: str
    model_name: str
    response: str = ""
    ground_truth: str = ""
    performance: float = Field(ge=0.0, le=1.0, description="quality in [0, 1], higher is better")
    response_time: float = Field(ge=0.0, description="end-to-end latency in seconds")
    prompt_tokens: int = Field(ge=0)
    completion_tokens: int = Field(ge=0)
    cost: float = Field(ge=0.0, description="US dollars for this request")
    query_id: str = ""

    @model_validator(mode="before")
    @classmethod
    def _default_query_id(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data.get("query_id"):
            data = {**data, "query_id": data.get("query", "")}
        return data


def write_records(records: Iterable[BenchmarkRecord], path: Path) -> Path:
    """Write records as JSONL (UTF-8, one object per line); returns ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(record.model_dump_json())
            out.write("\n")
    return path


def read_records(path: Path) -> list[BenchmarkRecord]:
    """Read and validate a JSONL benchmark file; blank lines are skipped."""
    with path.open(encoding="utf-8") as lines:
        return [BenchmarkRecord.model_validate_json(line) for line in lines if line.strip()]

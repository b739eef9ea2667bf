from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from llmswitch.training.benchmark import BenchmarkRecord, read_records, write_records
from llmswitch.training.pricing import PRICES, STRONG_MODEL, WEAK_MODEL, request_cost


def make_record(**overrides: object) -> BenchmarkRecord:
    fields: dict[str, object] = {
        "query": "What is 2 + 2?",
        "category": "math",
        "model_name": "m",
        "response": "4",
        "ground_truth": "4",
        "performance": 1.0,
        "response_time": 0.25,
        "prompt_tokens": 4,
        "completion_tokens": 1,
        "cost": 0.001,
    }
    return BenchmarkRecord.model_validate({**fields, **overrides})


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    records = [make_record(), make_record(model_name="n", performance=0.0, query_id="q-2")]
    path = write_records(records, tmp_path / "sub" / "bench.jsonl")
    assert read_records(path) == records
    lines = path.read_text(encoding="utf-8").splitlines()
    assert list(json.loads(lines[0])) == [
        "query",
        "category",
        "model_name",
        "response",
        "ground_truth",
        "performance",
        "response_time",
        "prompt_tokens",
        "completion_tokens",
        "cost",
        "query_id",
    ]


def test_query_id_defaults_to_query_text() -> None:
    assert make_record().query_id == "What is 2 + 2?"
    assert make_record(query_id="mmlu/anatomy/3").query_id == "mmlu/anatomy/3"


def test_reads_plain_format_without_extras_and_skips_blank_lines(tmp_path: Path) -> None:
    row = make_record().model_dump()
    del row["query_id"]
    row["unknown_field"] = 1
    path = tmp_path / "plain.jsonl"
    path.write_text(json.dumps(row) + "\n\n", encoding="utf-8")
    assert read_records(path) == [make_record()]


@pytest.mark.parametrize(
    "bad", [{"performance": 1.5}, {"performance": -0.1}, {"cost": -1.0}, {"prompt_tokens": -1}]
)
def test_rejects_out_of_range_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        make_record(**bad)


def test_request_cost_uses_per_million_prices() -> None:
    assert request_cost(STRONG_MODEL, 1000, 100) == pytest.approx((1000 * 10 + 100 * 30) / 1e6)
    assert request_cost(WEAK_MODEL, 1000, 100) == pytest.approx(1100 * 0.24 / 1e6)
    assert PRICES[STRONG_MODEL].cost(0, 0) == 0.0
    with pytest.raises(KeyError):
        request_cost("no-such-model", 1, 1)

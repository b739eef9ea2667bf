from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from llmswitch.training.benchmark import BenchmarkFileError, BenchmarkRecord, load_records, read_records, write_records
from llmswitch.training.metrics import performance_table
from llmswitch.training.pricing import PRICES, STRONG_MODEL, WEAK_MODEL, Price, request_cost

DATA = Path(__file__).parent.parent / "data"


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
        "query", "category", "model_name", "response", "ground_truth", "performance", "response_time",
        "prompt_tokens", "completion_tokens", "cost", "query_id",
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


def test_the_peers_benchmark_file_loads_as_written_with_derived_fields() -> None:
    loaded = load_records(DATA / "vsr" / "benchmark.jsonl", prices={"mistral-7b": Price(0.2, 0.2)})
    first = loaded.records[0]
    assert first.prompt_tokens == -(-len(first.query) // 4)  # estimated: four characters a token
    assert first.completion_tokens == -(-len(first.response) // 4)
    assert first.response_time == pytest.approx(0.41)
    priced = [r for r in loaded.records if r.model_name == "mistral-7b"]
    assert all(r.cost == pytest.approx((r.prompt_tokens + r.completion_tokens) * 0.2 / 1e6) for r in priced)
    assert all(r.cost is None for r in loaded.records if r.model_name == "llama-3.2-1b")
    text = "\n".join(loaded.notes)
    assert "prompt_tokens missing in 16 of 16" in text and "cost unknown for ['llama-3.2-1b']" in text
    table = performance_table(loaded.records)
    assert not table.cost_known and table.latency_known and table.cost.sum() == 0


def test_missing_latency_and_cost_are_unknown_not_zero() -> None:
    loaded = load_records(DATA / "cheap_better.jsonl")
    table = performance_table(loaded.records)
    assert table.cost_known and not table.latency_known
    assert any("response_time missing in 240 of 240 records: latency terms are off" in n for n in loaded.notes)


def test_a_bad_score_names_file_line_and_field_and_can_be_clipped(tmp_path: Path) -> None:
    rows = [make_record().model_dump(), {**make_record(model_name="n").model_dump(), "performance": -0.02}]
    path = tmp_path / "bench.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    with pytest.raises(BenchmarkFileError) as err:
        read_records(path)
    message = str(err.value)
    assert message.startswith(f"{path}:2: performance: Input should be greater than or equal to 0")
    assert "--clip-performance" in message
    loaded = load_records(path, clip_performance=True)
    assert loaded.records[1].performance == 0.0
    assert "performance clipped into [0, 1] in 1 records" in loaded.notes


@pytest.mark.parametrize(
    ("line", "expected"),
    [("{not json", ":1: not valid JSON"), ("[1, 2]", ":1: expected a JSON object"),
     ('{"query": "q", "model_name": "m"}', ":1: performance: Field required")],
)
def test_unreadable_lines_are_named(tmp_path: Path, line: str, expected: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(BenchmarkFileError, match=expected):
        read_records(path)


def test_request_cost_uses_per_million_prices() -> None:
    assert request_cost(STRONG_MODEL, 1000, 100) == pytest.approx((1000 * 10 + 100 * 30) / 1e6)
    assert request_cost(WEAK_MODEL, 1000, 100) == pytest.approx(1100 * 0.24 / 1e6)
    assert PRICES[STRONG_MODEL].cost(0, 0) == 0.0
    with pytest.raises(KeyError):
        request_cost("no-such-model", 1, 1)


def test_unicode_line_separators_inside_strings_do_not_split_records(tmp_path: Path) -> None:
    records = [make_record(query="first\u2028line\x85two"), make_record(model_name="n")]
    assert read_records(write_records(records, tmp_path / "b.jsonl")) == records

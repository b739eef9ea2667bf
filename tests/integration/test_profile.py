"""`llmswitch profile` against stub model servers: concurrency, scoring, tokens and cost."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import httpx
import pytest
import yaml

from llmswitch.training import profile as profile_cli
from llmswitch.training.benchmark import read_records
from llmswitch.training.metrics import performance_table
from tests.helpers import free_ports

pytestmark = pytest.mark.integration


@pytest.fixture
def stubs():
    small, large = free_ports(2)
    proc = subprocess.Popen([sys.executable, "-m", "llmswitch.demo.upstream", f"small-model={small}",
                             f"large-model={large}"])
    try:
        for port in (small, large):
            for _ in range(100):
                try:
                    httpx.get(f"http://127.0.0.1:{port}/health", timeout=0.2)
                    break
                except httpx.HTTPError:
                    time.sleep(0.05)
        yield small, large
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_profile_writes_scored_benchmark_records(tmp_path, stubs):
    small, large = stubs
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "version": "v1",
        "models": [
            {"name": "small-model", "endpoint": f"127.0.0.1:{small}", "pricing": {"input_per_1m": 1, "output_per_1m": 2}},
            {"name": "large-model", "endpoint": f"127.0.0.1:{large}"},
        ],
        "default_model": "small-model",
    }))
    queries = tmp_path / "queries.jsonl"
    rows = [{"query": f"Who are you? ({i})", "category": "chat", "ground_truth": "small-model"} for i in range(6)]
    rows.append({"query": "Pick one", "category": "quiz", "ground_truth": "B", "metric": "em_mc", "choices": ["x", "y"]})
    queries.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "bench.jsonl"
    parser = argparse.ArgumentParser()
    profile_cli.add_arguments(parser)
    assert profile_cli.run(parser.parse_args(["--config", str(config), "--queries", str(queries), "--out", str(out),
                                              "--concurrency", "4"])) == 0
    records = read_records(out)
    assert len(records) == 14
    table = performance_table(records)
    assert table.models == ("small-model", "large-model")
    assert table.performance[:6].tolist() == [[1.0, 0.0]] * 6  # cem: "Hello from small-model." contains the truth
    assert table.performance[6].tolist() == [0.0, 0.0]  # em_mc: no option letter in "Hello from ..."
    small_record = next(r for r in records if r.model_name == "small-model")
    assert small_record.response == "Hello from small-model."
    assert small_record.completion_tokens == 5 and small_record.prompt_tokens > 0
    assert small_record.cost == pytest.approx((small_record.prompt_tokens * 1 + 5 * 2) / 1e6)
    assert all(r.cost == 0 for r in records if r.model_name == "large-model")
    assert all(r.response_time > 0 for r in records)


def test_unreachable_model_is_recorded_as_a_failure(tmp_path):
    (port,) = free_ports(1)
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"version": "v1", "default_model": "gone",
                                      "models": [{"name": "gone", "endpoint": f"127.0.0.1:{port}"}]}))
    queries = tmp_path / "q.jsonl"
    queries.write_text(json.dumps({"query": "hi", "ground_truth": "x"}) + "\n")
    parser = argparse.ArgumentParser()
    profile_cli.add_arguments(parser)
    args = parser.parse_args(["--config", str(config), "--queries", str(queries), "--out", str(tmp_path / "o.jsonl"),
                              "--timeout", "2"])
    assert profile_cli.run(args) == 1
    (row,) = [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert row["performance"] == 0.0 and row["error"].startswith("Connect")


def test_the_peers_query_file_profiles_as_written(tmp_path, stubs):
    from pathlib import Path

    small, large = stubs
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({
        "version": "v1", "default_model": "small-model",
        "models": [{"name": "small-model", "endpoint": f"127.0.0.1:{small}"},
                   {"name": "large-model", "endpoint": f"127.0.0.1:{large}"}],
    }))
    queries = Path(__file__).parent.parent / "data" / "vsr" / "queries.jsonl"
    out = tmp_path / "bench.jsonl"
    parser = argparse.ArgumentParser()
    profile_cli.add_arguments(parser)
    assert profile_cli.run(parser.parse_args(["--config", str(config), "--queries", str(queries),
                                              "--out", str(out)])) == 0
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 16 and not any("error" in r for r in rows)
    # the stubs answer "Hello from <model>.", which no metric accepts; every metric ran
    assert all(r["performance"] == 0.0 for r in rows)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"query": "x", "metric": "bleu"}\n')
    assert profile_cli.run(parser.parse_args(["--config", str(config), "--queries", str(bad),
                                              "--out", str(tmp_path / "x.jsonl")])) == 2

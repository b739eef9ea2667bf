"""Answer scoring in both spellings of the metrics, the peer's query format, and sandboxed code_eval."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmswitch.training.code_eval import network_namespace_available, parse_tests, run_tests
from llmswitch.training.profile import read_queries
from llmswitch.training.scoring import canonical_metric, parse_choices, score

DATA = Path(__file__).parent.parent / "data"


@pytest.mark.parametrize(
    ("metric", "response", "truth", "choices", "expected"),
    [
        ("em_mc", "The answer is (C).", "C", (), 1.0),
        ("em_mc", "B. Paris", "Paris", ("London", "Paris"), 1.0),
        ("em_mc", "A", "B", (), 0.0),
        ("gsm8k", "so she pays 1,250 dollars. #### 1250", "1250", (), 1.0),
        ("GSM8K", "48 + 24 = 72", "On Tuesday 24; in total 48 + 24 = 72. #### 72", (), 1.0),
        ("GSM8K", "about 70", "explanation #### 72", (), 0.0),
        ("gsm8k", "about 12", "13", (), 0.0),
        ("math", "thus \\boxed{\\frac{1}{2}}.", "\\frac{1}{2}", (), 1.0),
        ("MATH", "it is 0.5", "\\boxed{\\frac{1}{2}}", (), 1.0),
        ("math", "x = 3", "3", (), 1.0),
        ("f1", "the cat sat", "cat sat down", (), pytest.approx(0.8)),
        ("f1_score", "Jane Austen", "Jane Austen wrote it", (), pytest.approx(2 * 1 * 0.5 / 1.5)),
        ("commongen_coverage", "a dog runs in the park", "dog, park, ball", (), pytest.approx(2 / 3)),
        (None, "Hello from small-model.", "small-model", (), 1.0),
        ("cem", "Hello from large-model.", "small-model", (), 0.0),
        ("cem", "anything", "", (), 0.5),  # no ground truth: neutral, as the peer scores it
        ("f1", "Paris", "paris", (), 1.0),  # equal to the truth: 1 under every metric
    ],
)
def test_scoring_metrics(metric, response, truth, choices, expected):
    assert score(metric, response, truth, choices) == expected


def test_numbers_compare_with_a_tolerance():
    assert score("gsm8k", "0.3335", "0.3333", tolerance=1e-3) == 1.0
    assert score("gsm8k", "0.3335", "0.3333") == 0.0  # default relative tolerance 1e-4
    assert score("gsm8k", "0.33333", "0.3333") == 1.0
    assert score("gsm8k", "1/3", "0.333333") == 1.0
    assert score("math", "\\boxed{100.00001}", "100") == 1.0


@pytest.mark.parametrize(("name", "canonical"), [("GSM8K", "gsm8k"), ("MATH", "math"), ("f1_score", "f1"),
                                                 ("em_mc", "em_mc"), ("CODE_EVAL", "code_eval"), (None, "cem")])
def test_metric_names_in_either_spelling(name, canonical):
    assert canonical_metric(name) == canonical


def test_unknown_metric_is_an_error():
    with pytest.raises(ValueError, match="unknown metric 'bleu'"):
        canonical_metric("bleu")


@pytest.mark.parametrize(
    ("value", "expected"),
    [("London,Paris,Berlin,Rome", ("London", "Paris", "Berlin", "Rome")),
     ("A) London B) Paris C) Berlin D) Rome", ("London", "Paris", "Berlin", "Rome")),
     ("(A) one, two (B) three", ("one, two", "three")),
     ("London\nParis", ("London", "Paris")),
     (["x", "y"], ("x", "y")), ("", ()), (None, ())],
)
def test_choices_as_a_string_or_a_list(value, expected):
    assert parse_choices(value) == expected


def test_the_peers_query_file_reads_as_written():
    queries = read_queries(DATA / "vsr" / "queries.jsonl")
    assert [q.metric for q in queries] == ["gsm8k", "math", "em_mc", "cem", "f1", "code_eval", "gsm8k", "cem"]
    assert queries[2].choices == ("London", "Paris", "Berlin", "Rome")
    assert queries[3].choices == ("Venus", "Mars", "Jupiter", "Saturn")
    assert queries[6].tolerance == pytest.approx(0.001)
    assert score(queries[0].metric, "In total 72 muffins.", queries[0].ground_truth) == 1.0
    assert score(queries[3].metric or "em_mc", "Mars", queries[3].ground_truth, queries[3].choices) == 0.0  # cem
    assert score("em_mc", "B", queries[3].ground_truth, queries[3].choices) == 1.0


def test_a_bad_query_line_is_named(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"query": "ok"}\n{"query": "x", "metric": "bleu"}\n')
    with pytest.raises(ValueError, match=r"q\.jsonl:2: unknown metric 'bleu'"):
        read_queries(path)


def test_code_eval_runs_each_test_against_the_answer():
    answer = "Here you go:\n```python\ndef add(a, b):\n    return a + b\n```"
    assert run_tests(answer, "['assert add(1, 2) == 3', 'assert add(-1, 1) == 0']") == 1.0
    assert run_tests("def add(a, b):\n    return a - b", '["assert add(1, 2) == 3", "assert add(0, 0) == 0"]') == 0.5
    assert parse_tests("assert f(1) == 1\nassert f(2) == 2") == ["assert f(1) == 1", "assert f(2) == 2"]
    assert run_tests("no code at all", "") == 0.0


def test_code_eval_stops_endless_loops_and_refuses_the_network():
    assert run_tests("def f():\n    while True:\n        pass", "['f()']", timeout_s=1.0) == 0.0
    dial = "import socket\ndef f():\n    socket.create_connection(('127.0.0.1', 9), timeout=1)\n    return 1"
    assert run_tests(dial, "['assert f() == 1']") == 0.0
    spawn = "import subprocess\ndef f():\n    return subprocess.run(['true']).returncode"
    assert run_tests(spawn, "['assert f() == 0']") == 0.0
    assert isinstance(network_namespace_available(), bool)

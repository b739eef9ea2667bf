from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from llmswitch.training import datasets
from llmswitch.training.benchmark import BenchmarkRecord
from llmswitch.training.datasets import (
    build_benchmark,
    build_records,
    estimate_tokens,
    load_benchmark,
    records_in_split,
    shared_data_dir,
)
from llmswitch.training.pricing import STRONG_MODEL, WEAK_MODEL
from llmswitch.training.split import split_of

MODELS = [WEAK_MODEL, STRONG_MODEL]


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)


def judge_single(answer: str) -> str:
    return (
        "[Instruction]\nRate it.\n\n[Question]\nq\n\n"
        f"[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"
    )


def judge_multi(first: str, answer1: str, second: str, answer2: str) -> str:
    return (
        "<|The Start of Assistant A's Conversation with User|>\n\n"
        f"### User:\n{first}\n\n### Assistant A:\n{answer1}\n\n"
        f"### User:\n{second}\n\n### Assistant A:\n{answer2}\n\n"
        "<|The End of Assistant A's Conversation with User|>"
    )


@pytest.fixture()
def data_dir(tmp_path: Path) -> Path:
    """A miniature shared data folder with contaminated prompts in each data set."""
    root = tmp_path / "data"
    routellm = root / "routellm"
    header = ["prompt", *MODELS]
    write_csv(
        routellm / "mmlu/responses/mmlu_anatomy.csv",
        header,
        [["Which bone?\nAnswer:", "False", "True"], ["Leaked?", "True", "True"]],
    )
    write_csv(
        routellm / "mmlu/responses/mmlu_college_medicine.csv",
        header,
        [["abcdefgh", "True", "False"]],
    )
    write_jsonl(
        routellm / "mmlu/contaminated_prompts.jsonl",
        [{"train_prompt": "x", "eval_prompt": "Leaked?"}],
    )

    write_csv(
        routellm / "gsm8k/gsm8k_responses.csv",
        [*header, *(f"{m}_response" for m in MODELS)],
        [
            ["Leaked sum?", "True", "True", "a", "b"],
            ["Eggs?", "False", "True", "abcd", "abcdefghij"],
        ],
    )
    write_jsonl(
        routellm / "gsm8k/test.jsonl", [{"question": "Eggs?", "answer": "9 * 2 = 18\n#### 18"}]
    )
    write_jsonl(routellm / "gsm8k/contaminated_prompts.jsonl", [{"eval_prompt": "Leaked sum?"}])

    write_jsonl(
        routellm / "mt_bench/question.jsonl",
        [
            {"question_id": 81, "category": "writing", "turns": ["Leaked poem", "More"]},
            {"question_id": 82, "category": "writing", "turns": ["Fine", "Leaked turn"]},
            {
                "question_id": 111,
                "category": "math",
                "turns": ["abcd", "efgh"],
                "reference": ["42", "43"],
            },
        ],
    )
    scores = {STRONG_MODEL: (9, 10), WEAK_MODEL: (8, 5)}
    answers = {STRONG_MODEL: ("A" * 8, "B" * 12), WEAK_MODEL: ("C" * 4, "D" * 4)}
    judgements = []
    for model in MODELS:
        a1, a2 = answers[model]
        judgements += [
            {
                "question_id": 111,
                "model": model,
                "turn": 1,
                "score": scores[model][0],
                "user_prompt": judge_single(a1),
            },
            {
                "question_id": 111,
                "model": model,
                "turn": 2,
                "score": scores[model][1],
                "user_prompt": judge_multi("abcd", a1, "efgh", a2),
            },
        ]
    write_jsonl(routellm / "mt_bench/judgements.jsonl", judgements)
    write_jsonl(
        routellm / "mt_bench/contaminated_prompts.jsonl",
        [{"eval_prompt": "Leaked poem"}, {"eval_prompt": "Leaked turn"}],
    )

    # One request per size: 70b takes 0.5 s to the first token then 0.5 s per token,
    # 13b 0.2 s then 0.2 s per token.
    perf = root / "llmperf_leaderboard/individual"
    perf.mkdir(parents=True)
    for size, ttft, e2e in (("70b", 0.5, 2.5), ("13b", 0.2, 1.0)):
        row = {
            "error_code": None,
            "ttft_s": ttft,
            "end_to_end_latency_s": e2e,
            "number_output_tokens": 5,
        }
        (perf / f"acme_{size}.json").write_text(json.dumps([row]), encoding="utf-8")
    return root


def by_model(records: list[BenchmarkRecord]) -> dict[str, BenchmarkRecord]:
    return {r.model_name: r for r in records}


def test_estimate_tokens_is_a_quarter_of_the_characters() -> None:
    assert [estimate_tokens(t) for t in ("", "abc", "abcd", "abcde", "x" * 400)] == [
        1,
        1,
        1,
        2,
        100,
    ]


def test_mmlu_drops_contaminated_and_scores_correctness(data_dir: Path) -> None:
    records = build_records("mmlu", data_dir=data_dir)
    assert [(r.query_id, r.model_name) for r in records] == [
        ("mmlu/anatomy/0", STRONG_MODEL),
        ("mmlu/anatomy/0", WEAK_MODEL),
        ("mmlu/college_medicine/0", STRONG_MODEL),
        ("mmlu/college_medicine/0", WEAK_MODEL),
    ]
    anatomy = by_model(records[:2])
    strong, weak = anatomy[STRONG_MODEL], anatomy[WEAK_MODEL]
    assert (strong.category, strong.performance, weak.performance) == ("anatomy", 1.0, 0.0)
    # "Which bone?\nAnswer:" has 19 characters: 5 prompt tokens; the answer is one token.
    assert (strong.prompt_tokens, strong.completion_tokens) == (5, 1)
    assert strong.cost == pytest.approx((5 * 10 + 1 * 30) / 1e6)
    assert weak.cost == pytest.approx(6 * 0.24 / 1e6)
    assert strong.response_time == pytest.approx(0.5)  # time to first token of the 70b request
    assert weak.response_time == pytest.approx(0.2)
    assert records[2].category == "college medicine"
    assert records[2].performance == 0.0 and records[3].performance == 1.0


def test_gsm8k_uses_responses_for_tokens_and_the_final_answer_as_truth(data_dir: Path) -> None:
    records = by_model(build_records("gsm8k", data_dir=data_dir))
    strong, weak = records[STRONG_MODEL], records[WEAK_MODEL]
    assert strong.query == "Eggs?" and strong.category == "math" and strong.query_id == "gsm8k/1"
    assert (strong.ground_truth, strong.response) == ("18", "abcdefghij")
    assert (strong.performance, weak.performance) == (1.0, 0.0)
    assert (strong.prompt_tokens, strong.completion_tokens, weak.completion_tokens) == (2, 3, 1)
    assert strong.cost == pytest.approx((2 * 10 + 3 * 30) / 1e6)
    assert strong.response_time == pytest.approx(0.5 + 2 * 0.5)
    assert weak.response_time == pytest.approx(0.2)


def test_mt_bench_averages_both_turns_and_counts_both_requests(data_dir: Path) -> None:
    built = build_records("mt_bench", data_dir=data_dir)
    assert [r.query_id for r in built] == ["mt_bench/111"] * 2  # 81 and 82 are contaminated
    strong, weak = by_model(built)[STRONG_MODEL], by_model(built)[WEAK_MODEL]
    assert (strong.query, strong.category, strong.ground_truth) == ("abcd", "math", "42")
    assert strong.performance == pytest.approx(0.95) and weak.performance == pytest.approx(0.65)
    assert strong.response == "A" * 8
    # Turn 1 sends "abcd" (1 token); turn 2 re-sends it with the answer and "efgh" (16 chars: 4).
    assert strong.prompt_tokens == 1 + 4 and weak.prompt_tokens == 1 + 3
    assert (strong.completion_tokens, weak.completion_tokens) == (2 + 3, 1 + 1)
    # One latency draw per turn: (0.5 + 0.5) + (0.5 + 2 * 0.5) for 2 and 3 tokens.
    assert strong.response_time == pytest.approx(2.5)
    assert weak.response_time == pytest.approx(0.4)


def test_build_benchmark_writes_loadable_jsonl(data_dir: Path, tmp_path: Path) -> None:
    out = build_benchmark("gsm8k", tmp_path / "out" / "gsm8k.jsonl", seed=3, data_dir=data_dir)
    assert load_benchmark(out) == build_records("gsm8k", seed=3, data_dir=data_dir)


def test_unknown_dataset_is_rejected(data_dir: Path) -> None:
    with pytest.raises(ValueError, match="unknown dataset"):
        build_records("hellaswag", data_dir=data_dir)


def test_records_in_split_follows_split_of(data_dir: Path) -> None:
    records = build_records("mmlu", data_dir=data_dir)
    for split in ("train", "eval"):
        assert records_in_split(records, split) == [
            r for r in records if split_of(r.query) == split
        ]


def test_shared_data_dir_prefers_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LLMSWITCH_SHARED_DATA", str(tmp_path))
    assert shared_data_dir() == tmp_path


def test_shared_data_dir_defaults_beside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMSWITCH_SHARED_DATA", raising=False)
    repo = Path(datasets.__file__).resolve().parents[3]
    if not (repo / "pyproject.toml").is_file():
        pytest.skip("not running from a source checkout")
    assert shared_data_dir() == repo.parent / "shared" / "data"

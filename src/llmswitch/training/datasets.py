"""Turn the RouteLLM evaluation data into benchmark records (see docs/datasets.md).

The shared data folder is ``$LLMSWITCH_SHARED_DATA`` if set, else ``shared/data``
beside the repository root (the first folder above this package, or above the
working directory, that holds a ``pyproject.toml``).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from llmswitch.training.benchmark import BenchmarkRecord, estimate_tokens, read_records, write_records
from llmswitch.training.latency import LatencySampler, load_llmperf
from llmswitch.training.pricing import STRONG_MODEL, WEAK_MODEL, request_cost
from llmswitch.training.split import Split, split_of

ENV_VAR = "LLMSWITCH_SHARED_DATA"
DATASETS = ("mmlu", "gsm8k", "mt_bench")
MODELS = (STRONG_MODEL, WEAK_MODEL)
# Leaderboard sizes used for latency: GPT-4 is assumed to serve like Llama-2 70B;
# Mixtral-8x7B (about 13B parameters active per token) like Llama-2 13B.
LATENCY_SIZE = {STRONG_MODEL: "70b", WEAK_MODEL: "13b"}
# MMLU prompts end in "Answer:" and are graded on the answer letter.
MMLU_COMPLETION_TOKENS = 1


def shared_data_dir() -> Path:
    """Where the shared data lives (see the module docstring)."""
    if env := os.environ.get(ENV_VAR):
        return Path(env)
    for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
        for folder in (start, *start.parents):
            if (folder / "pyproject.toml").is_file():
                return folder.parent / "shared" / "data"
    return Path.cwd().parent / "shared" / "data"


@dataclass(frozen=True)
class Outcome:
    """One model's graded answer to one query, before cost and latency are attached.

    ``completions`` holds the output token count of each request (one per turn).
    """

    query_id: str
    query: str
    category: str
    model_name: str
    performance: float
    prompt_tokens: int
    completions: tuple[int, ...]
    response: str = ""
    ground_truth: str = ""


def contaminated_prompts(path: Path) -> set[str]:
    """Evaluation prompts that RouteLLM found in its router training data."""
    with path.open(encoding="utf-8") as lines:
        return {json.loads(line)["eval_prompt"] for line in lines if line.strip()}


def _read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as rows:
        return list(csv.DictReader(rows))


def _correct(cell: str) -> float:
    if cell not in ("True", "False"):
        raise ValueError(f"expected True/False, got {cell!r}")
    return 1.0 if cell == "True" else 0.0


def mmlu_outcomes(routellm: Path) -> Iterator[Outcome]:
    """MMLU: category is the subject ("college medicine"), performance is 1.0 if correct."""
    drop = contaminated_prompts(routellm / "mmlu" / "contaminated_prompts.jsonl")
    for path in sorted((routellm / "mmlu" / "responses").glob("mmlu_*.csv")):
        subject = path.stem.removeprefix("mmlu_")
        for index, row in enumerate(_read_csv(path)):
            prompt = row["prompt"]
            if prompt in drop:
                continue
            for model in MODELS:
                yield Outcome(
                    query_id=f"mmlu/{subject}/{index}",
                    query=prompt,
                    category=subject.replace("_", " "),
                    model_name=model,
                    performance=_correct(row[model]),
                    prompt_tokens=estimate_tokens(prompt),
                    completions=(MMLU_COMPLETION_TOKENS,),
                )


def gsm8k_outcomes(routellm: Path) -> Iterator[Outcome]:
    """GSM8K: category "math"; tokens from the recorded responses; answer from test.jsonl."""
    folder = routellm / "gsm8k"
    drop = contaminated_prompts(folder / "contaminated_prompts.jsonl")
    with (folder / "test.jsonl").open(encoding="utf-8") as lines:
        answers = {row["question"]: row["answer"] for row in map(json.loads, lines)}
    for index, row in enumerate(_read_csv(folder / "gsm8k_responses.csv")):
        prompt = row["prompt"]
        if prompt in drop:
            continue
        truth = answers.get(prompt, "").rsplit("####", 1)[-1].strip()
        for model in MODELS:
            response = row[f"{model}_response"]
            yield Outcome(
                query_id=f"gsm8k/{index}",
                query=prompt,
                category="math",
                model_name=model,
                performance=_correct(row[model]),
                prompt_tokens=estimate_tokens(prompt),
                completions=(estimate_tokens(response),),
                response=response,
                ground_truth=truth,
            )


def _between(text: str, start: str, end: str) -> str:
    """The text after the last ``start`` and before the next ``end``."""
    head = text.rindex(start) + len(start)
    return text[head : text.index(end, head)].strip()


def mt_bench_outcomes(routellm: Path) -> Iterator[Outcome]:
    """MT-Bench: the query is the first turn, performance the mean judge score of both turns / 10.

    Answers are read back from the judge prompts. Cost counts both turns: the
    second request re-sends the first turn and its answer.
    """
    folder = routellm / "mt_bench"
    drop = contaminated_prompts(folder / "contaminated_prompts.jsonl")
    with (folder / "question.jsonl").open(encoding="utf-8") as lines:
        questions = [json.loads(line) for line in lines if line.strip()]
    judged: dict[tuple[int, str, int], dict[str, Any]] = {}
    with (folder / "judgements.jsonl").open(encoding="utf-8") as lines:
        for row in map(json.loads, filter(str.strip, lines)):
            judged[(row["question_id"], row["model"], row["turn"])] = row
    for question in questions:
        first, second = question["turns"][:2]
        if first in drop or second in drop:
            continue
        reference = question.get("reference") or [""]
        for model in MODELS:
            turn1 = judged[(question["question_id"], model, 1)]
            turn2 = judged[(question["question_id"], model, 2)]
            answer1 = _between(
                turn1["user_prompt"],
                "[The Start of Assistant's Answer]",
                "[The End of Assistant's Answer]",
            )
            answer2 = _between(
                turn2["user_prompt"], "### Assistant A:", "<|The End of Assistant A's Conversation"
            )
            yield Outcome(
                query_id=f"mt_bench/{question['question_id']}",
                query=first,
                category=question["category"],
                model_name=model,
                performance=(turn1["score"] + turn2["score"]) / 20.0,
                prompt_tokens=estimate_tokens(first) + estimate_tokens(first + answer1 + second),
                completions=(estimate_tokens(answer1), estimate_tokens(answer2)),
                response=answer1,
                ground_truth=reference[0],
            )


def to_records(outcomes: Iterable[Outcome], sampler: LatencySampler) -> list[BenchmarkRecord]:
    """Attach cost (price table) and latency (one draw per request) to each outcome."""
    return [
        BenchmarkRecord(
            query=o.query,
            category=o.category,
            model_name=o.model_name,
            response=o.response,
            ground_truth=o.ground_truth,
            performance=o.performance,
            response_time=sum(sampler.draw(o.model_name, n) for n in o.completions),
            prompt_tokens=o.prompt_tokens,
            completion_tokens=sum(o.completions),
            cost=request_cost(o.model_name, o.prompt_tokens, sum(o.completions)),
            query_id=o.query_id,
        )
        for o in outcomes
    ]


def build_records(
    dataset: str, seed: int = 0, data_dir: Path | None = None
) -> list[BenchmarkRecord]:
    """Benchmark records of ``dataset`` (one of DATASETS), in file order, strong model first."""
    root = data_dir or shared_data_dir()
    adapters = {"mmlu": mmlu_outcomes, "gsm8k": gsm8k_outcomes, "mt_bench": mt_bench_outcomes}
    if dataset not in adapters:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {DATASETS}")
    sampler = LatencySampler(load_llmperf(root / "llmperf_leaderboard"), LATENCY_SIZE, seed)
    return to_records(adapters[dataset](root / "routellm"), sampler)


def build_benchmark(
    dataset: str, out_path: Path, seed: int = 0, data_dir: Path | None = None
) -> Path:
    """Write ``dataset`` as benchmark JSONL to ``out_path``; the seed drives the latency draws."""
    return write_records(build_records(dataset, seed, data_dir), out_path)


def load_benchmark(path: Path) -> list[BenchmarkRecord]:
    """Read a benchmark JSONL file."""
    return read_records(path)


def records_in_split(records: Sequence[BenchmarkRecord], split: Split) -> list[BenchmarkRecord]:
    """The records whose query falls in ``split`` (``split_of`` of the query text)."""
    return [r for r in records if split_of(r.query) == split]

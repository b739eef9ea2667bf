"""Train/eval splits: the default is the project's one split; key, share, seed and folds are choices."""

from __future__ import annotations

import pytest

from llmswitch.training.benchmark import BenchmarkRecord
from llmswitch.training.split import SplitSpec, split_of


def records(n: int = 500) -> list[BenchmarkRecord]:
    return [BenchmarkRecord(query=f"question {i}", model_name="m", performance=1.0, query_id=f"id-{i % 250}")
            for i in range(n)]


def test_default_spec_is_the_project_split():
    assert all(SplitSpec().split_of(r) == split_of(r.query) for r in records())


def test_share_seed_and_key_change_the_split():
    rows = records()
    eval_share = lambda spec: sum(spec.split_of(r) == "eval" for r in rows) / len(rows)  # noqa: E731
    assert 0.25 < eval_share(SplitSpec(eval_share=0.35)) < 0.45
    default = [SplitSpec().split_of(r) for r in rows]
    assert [SplitSpec(seed=7).split_of(r) for r in rows] != default
    by_id = SplitSpec(key="query_id")
    assert by_id.split_of(rows[3]) == by_id.split_of(rows[253])  # same query_id, same split


def test_folds_partition_the_queries():
    rows = records()
    folds = SplitSpec(folds=5)
    evals = [{r.query for r in rows if folds.with_fold(k).split_of(r) == "eval"} for k in range(5)]
    assert sum(len(e) for e in evals) == len(rows) and set().union(*evals) == {r.query for r in rows}
    assert all(60 < len(e) < 140 for e in evals)


@pytest.mark.parametrize("bad", [{"eval_share": 0.0}, {"eval_share": 1.0}, {"folds": 1}, {"folds": 3, "fold": 3}])
def test_bad_specs_are_refused(bad):
    with pytest.raises(ValueError):
        SplitSpec(**bad)


def test_round_trip_and_description():
    spec = SplitSpec(key="query_id", eval_share=0.3, seed=4, folds=4, fold=2)
    assert SplitSpec.from_dict(spec.to_dict()) == spec
    assert spec.describe() == "split by query_id, fold 3 of 4, seed 4"

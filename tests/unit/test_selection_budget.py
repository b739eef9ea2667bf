"""budget: steps down to cheaper models as the day's spend grows."""

from __future__ import annotations

import time

import orjson
import pytest
import yaml

from llmswitch.budget import MemoryStore
from llmswitch.config import ConfigError, parse_config
from llmswitch.pipeline import RoutingPipeline
from llmswitch.selection import build_selector
from llmswitch.selection.budget import daily_key
from llmswitch.training.selectors import TrainSettings, train_selectors
from tests.unit.test_selection_learned import (
    ALGORITHMS,
    STRONG,
    WEAK,
    config_text,
    context,
    featurize,
    request,
    synthetic_records,
)


def static_budget(**params) -> dict:
    return {"type": "budget", "budget": {"budget_per_day": 10.0, "inner": {"type": "static"}, **params}}


async def spend(selector, amount: float) -> None:
    await selector._guard.store.adjust([daily_key(selector._guard, time.time())], amount)


@pytest.mark.parametrize(("spent", "model"), [(0.0, STRONG), (4.9, STRONG), (5.5, WEAK), (9.0, WEAK)])
async def test_default_tiers_step_down(tmp_path, spent, model):
    selector = build_selector(context(tmp_path, static_budget()))  # static picks the first modelRef: strong
    await spend(selector, spent)
    chosen = await selector.select_async(request("hi", semantics=False))
    assert chosen.model == model
    assert chosen.details["budget_remaining"] == pytest.approx(1 - spent / 10)
    if model == WEAK:
        assert "not allowed" in chosen.reason


async def test_three_models_drop_the_priciest_then_keep_the_cheapest(tmp_path):
    data = yaml.safe_load(config_text(static_budget()))
    data["models"].append({"name": "mid-model", "endpoint": "127.0.0.1:9003",
                           "pricing": {"input_per_1m": 1, "output_per_1m": 1}})
    data["decisions"][0]["modelRefs"] = [{"model": STRONG}, {"model": "mid-model"}, {"model": WEAK}]
    loaded = parse_config(yaml.safe_dump(data), str(tmp_path / "c.yaml"))
    pipeline = RoutingPipeline(loaded, budget_store=MemoryStore())
    selector = pipeline.router._selectors["learned"]
    assert selector.allowed(0.3) == frozenset({"mid-model", WEAK})
    assert selector.allowed(0.1) == frozenset({WEAK})
    assert selector.allowed(0.9) is None


async def test_explicit_tiers_and_inner_scores(tmp_path):
    train_selectors(synthetic_records(), tmp_path, featurize, TrainSettings(components=4, algorithms=("knn",)))
    algorithm = static_budget(inner=ALGORITHMS["knn"], tiers=[{"below": 0.9, "models": [WEAK]}])
    selector = build_selector(context(tmp_path, algorithm))
    assert (await selector.select_async(request("hard prompt 1"))).model == STRONG
    await spend(selector, 2.0)
    chosen = await selector.select_async(request("hard prompt 1"))
    assert chosen.model == WEAK and "best-scored allowed model" in chosen.reason


async def test_through_the_pipeline(tmp_path):
    loaded = parse_config(config_text(static_budget()), str(tmp_path / "c.yaml"))
    pipeline = RoutingPipeline(loaded, budget_store=MemoryStore())
    body = orjson.dumps({"model": "auto", "messages": [{"role": "user", "content": "a question"}]})
    assert (await pipeline.route_async({}, body)).model.name == STRONG
    await pipeline.budget.store.adjust([daily_key(pipeline.budget, time.time())], 9.5)
    plan = await pipeline.route_async({}, body)
    assert (plan.model.name, plan.algorithm) == (WEAK, "budget")


def test_unknown_tier_model_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"decisions\[0\]\.algorithm\.budget\.tiers\[0\]\.models:"):
        build_selector(context(tmp_path, static_budget(tiers=[{"below": 0.5, "models": ["nope"]}])))


def test_inner_errors_name_the_inner_path(tmp_path):
    with pytest.raises(ConfigError, match=r"decisions\[0\]\.algorithm\.budget\.inner\.knn\.artifact: file not found"):
        build_selector(context(tmp_path, static_budget(inner=ALGORITHMS["knn"])))

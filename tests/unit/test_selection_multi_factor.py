"""multi_factor: profile quality, pricing and latency; context windows and caps drop models."""

from __future__ import annotations

import pytest

from llmswitch.config import ConfigError
from llmswitch.selection import build_selector
from llmswitch.selection.artifact import ArtifactMeta
from llmswitch.selection.multi_factor import ModelProfile, ProfileArtifact
from tests.unit.test_selection_learned import STRONG, WEAK, context, request


@pytest.fixture
def folder(tmp_path):
    profiles = {STRONG: ModelProfile(0.9, 2.0, 100), WEAK: ModelProfile(0.6, 0.5, 100)}
    ProfileArtifact(ArtifactMeta.create("multi_factor", [STRONG, WEAK], {}), profiles).save(tmp_path / "profile.json")
    return tmp_path


def selector(folder, models=None, **params):
    algorithm = {"type": "multi_factor", "multi_factor": {"artifact": "profile.json", **params}}
    return build_selector(context(folder, algorithm, **(models or {})))


def test_weights_trade_quality_against_cost_and_latency(folder):
    assert selector(folder).select(request("hi", semantics=False)).model == STRONG
    cheap = selector(folder, weights={"quality": 1.0, "cost": 1.0})
    assert cheap.select(request("hi", semantics=False)).model == WEAK
    fast = selector(folder, weights={"quality": 1.0, "latency": 0.5})
    assert fast.select(request("hi", semantics=False)).model == WEAK


def test_caps_drop_models(folder):
    assert selector(folder, max_cost_per_1m=1.0).select(request("hi", semantics=False)).model == WEAK
    assert selector(folder, max_latency_ms=1000).select(request("hi", semantics=False)).model == WEAK


def test_too_small_context_window_is_dropped(folder):
    models = {STRONG: {"context_window": 100}}
    chosen = selector(folder, models).select(request("word " * 1000, semantics=False))  # ~1250 tokens
    assert chosen.model == WEAK
    assert selector(folder, models).select(request("short", semantics=False)).model == STRONG


def test_caps_that_leave_nothing_are_ignored_and_said_so(folder):
    chosen = selector(folder, max_cost_per_1m=0.01).select(request("hi", semantics=False))
    assert chosen.model == STRONG
    assert "caps left no model" in chosen.reason


def test_no_fitting_context_takes_the_largest_window(folder):
    models = {STRONG: {"context_window": 50}, WEAK: {"context_window": 80}}
    chosen = selector(folder, models).select(request("word " * 1000, semantics=False))
    assert chosen.model == WEAK and "context window" in chosen.reason


def test_profile_for_other_models_is_rejected(tmp_path):
    meta = ArtifactMeta.create("multi_factor", [STRONG, "other"], {})
    ProfileArtifact(meta, {STRONG: ModelProfile(1, 1, 1), "other": ModelProfile(1, 1, 1)}).save(tmp_path / "profile.json")
    with pytest.raises(ConfigError, match=r"decisions\[0\]\.algorithm\.multi_factor\.artifact: artifact was trained"):
        selector(tmp_path)

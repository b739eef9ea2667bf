from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmswitch.training.latency import LatencySample, LatencySampler, load_llmperf, shared_providers


def request(
    ttft: float, e2e: float, tokens: int = 5, error: int | None = None
) -> dict[str, object]:
    return {
        "error_code": error,
        "error_msg": "",
        "ttft_s": ttft,
        "end_to_end_latency_s": e2e,
        "number_output_tokens": tokens,
        "number_input_tokens": 550,
    }


def write_leaderboard(root: Path) -> Path:
    """acme serves 13b and 70b; solo only 70b; each file has one failed request."""
    folder = root / "individual"
    folder.mkdir(parents=True)
    files = {
        "acme_70b": [request(0.5, 2.5), request(0.0, 0.0, 0, error=429)],
        "acme_13b": [request(0.2, 1.0), request(0.0, 0.0, 0)],
        "solo_70b": [request(9.0, 99.0)],
    }
    for name, rows in files.items():
        (folder / f"{name}.json").write_text(json.dumps(rows), encoding="utf-8")
    return root


def test_load_drops_failed_requests(tmp_path: Path) -> None:
    samples = load_llmperf(write_leaderboard(tmp_path))
    assert sorted((s.provider, s.size, s.ttft_s, s.end_to_end_s) for s in samples) == [
        ("acme", "13b", 0.2, 1.0),
        ("acme", "70b", 0.5, 2.5),
        ("solo", "70b", 9.0, 99.0),
    ]


def test_latency_rescales_decode_time_to_the_output_length() -> None:
    sample = LatencySample("acme", "70b", ttft_s=0.5, end_to_end_s=2.5, output_tokens=5)
    assert sample.latency_for(5) == pytest.approx(2.5)  # the measured request
    assert sample.latency_for(1) == pytest.approx(0.5)  # first token only
    assert sample.latency_for(3) == pytest.approx(1.5)  # 0.5 s per further token


def test_sampler_uses_providers_serving_every_size(tmp_path: Path) -> None:
    samples = load_llmperf(write_leaderboard(tmp_path))
    assert shared_providers(samples, ["70b", "13b"]) == {"acme"}
    sampler = LatencySampler(samples, {"big": "70b", "small": "13b"}, seed=1)
    assert [sampler.draw("big", 3) for _ in range(5)] == pytest.approx([1.5] * 5)
    assert sampler.draw("small", 1) == pytest.approx(0.2)
    only_solo = LatencySampler(samples, {"big": "70b"}, providers={"solo"})
    assert only_solo.draw("big", 1) == pytest.approx(9.0)


def test_sampler_is_reproducible_for_a_seed() -> None:
    samples = [LatencySample("p", "70b", 0.1 * i, 1.0 + i, 10) for i in range(20)]
    samplers = [LatencySampler(samples, {"m": "70b"}, seed=s) for s in (7, 7, 8)]
    draws = [[sampler.draw("m", 4) for _ in range(5)] for sampler in samplers]
    assert draws[0] == draws[1]
    assert draws[0] != draws[2]


def test_sampler_needs_samples_for_each_model(tmp_path: Path) -> None:
    samples = load_llmperf(write_leaderboard(tmp_path))
    with pytest.raises(ValueError, match="7b"):
        LatencySampler(samples, {"tiny": "7b"})

"""The lock-free routing metrics expose the same Prometheus series as prometheus_client's own types."""

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from llmswitch.telemetry.route_stats import LATENCY_BUCKETS, RouteStats


@pytest.fixture
def stats_and_registry() -> tuple[RouteStats, CollectorRegistry]:
    registry = CollectorRegistry()
    stats = RouteStats()
    registry.register(stats)
    return stats, registry


def test_routed_requests_are_counted_by_decision_and_model(stats_and_registry):
    stats, registry = stats_and_registry
    for _ in range(3):
        stats.routed("code", "large-model", 1_000, {})
    stats.routed("default", "small-model", 1_000, {})
    sample = registry.get_sample_value
    assert sample("llmswitch_requests_total", {"decision": "code", "model": "large-model"}) == 3
    assert sample("llmswitch_requests_total", {"decision": "default", "model": "small-model"}) == 1


def test_latency_buckets_are_cumulative_with_le_labels_as_prometheus_writes_them(stats_and_registry):
    stats, registry = stats_and_registry
    # 40 us, exactly 100 us (counts in le=0.0001), 3 ms, and 2 s (only +Inf).
    for nanoseconds in (40_000, 100_000, 3_000_000, 2_000_000_000):
        stats.routed("d", "m", nanoseconds, {"keyword": (0, nanoseconds // 2)})
    sample = registry.get_sample_value
    name = "llmswitch_routing_duration_seconds"
    assert sample(f"{name}_bucket", {"le": "5e-05"}) == 1
    assert sample(f"{name}_bucket", {"le": "0.0001"}) == 2
    assert sample(f"{name}_bucket", {"le": "0.0025"}) == 2
    assert sample(f"{name}_bucket", {"le": "0.005"}) == 3
    assert sample(f"{name}_bucket", {"le": "1.0"}) == 3
    assert sample(f"{name}_bucket", {"le": "+Inf"}) == sample(f"{name}_count") == 4
    assert sample(f"{name}_sum") == pytest.approx(2.00314)
    assert sample("llmswitch_signal_duration_seconds_count", {"type": "keyword"}) == 4
    assert sample("llmswitch_signal_duration_seconds_sum", {"type": "keyword"}) == pytest.approx(1.00157)
    buckets = [line for line in generate_latest(registry).decode().splitlines() if line.startswith(f"{name}_bucket")]
    assert len(buckets) == len(LATENCY_BUCKETS) + 1


def test_streams_in_flight_and_by_how_they_ended(stats_and_registry):
    stats, registry = stats_and_registry
    sample = registry.get_sample_value
    assert sample("llmswitch_extproc_streams_total", {"end": "reset"}) == 0  # both series exist from the start
    for _ in range(3):
        stats.stream_started()
    stats.stream_ended("closed")
    stats.stream_ended("reset")
    assert sample("llmswitch_inflight_streams") == 1
    assert sample("llmswitch_extproc_streams_total", {"end": "closed"}) == 1
    assert sample("llmswitch_extproc_streams_total", {"end": "reset"}) == 1

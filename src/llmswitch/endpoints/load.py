"""A model server's load, read from its Prometheus exposition: queued and running requests, KV-cache use.

Only the few gauges picking needs are read, by a line scan that skips everything else (a vLLM
/metrics page is mostly histograms), so a scrape costs the router's event loop little. Series of
one gauge with several label sets (one per engine of a data-parallel server) are summed; KV-cache
use takes the highest.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmswitch.config.models import EndpointMetricsConfig

# Per engine: the gauges of queued and running requests and of KV-cache use (0..1), each a list of
# names a version of that server exports (the first one found is read).
ENGINE_METRICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "vllm": (
        ("vllm:num_requests_waiting",),
        ("vllm:num_requests_running",),
        ("vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"),
    ),
    "sglang": (("sglang:num_queue_reqs",), ("sglang:num_running_reqs",), ("sglang:token_usage",)),
    "tgi": (("tgi_queue_size",), ("tgi_batch_current_size",), ()),
}


@dataclass(frozen=True)
class MetricNames:
    waiting: tuple[str, ...]
    running: tuple[str, ...]
    kv_cache: tuple[str, ...]
    path: str = "/metrics"

    @staticmethod
    def of(config: EndpointMetricsConfig) -> MetricNames:
        waiting, running, kv_cache = ENGINE_METRICS[config.engine]
        return MetricNames(
            tuple(config.waiting) if config.waiting is not None else waiting,
            tuple(config.running) if config.running is not None else running,
            tuple(config.kv_cache) if config.kv_cache is not None else kv_cache,
            config.path,
        )

    @property
    def all(self) -> tuple[str, ...]:
        return (*self.waiting, *self.running, *self.kv_cache)


@dataclass(frozen=True)
class Load:
    waiting: float
    running: float
    kv_cache: float = 0.0


def _sample(line: str) -> tuple[str, float] | None:
    """(name, value) of one exposition line, None for comments and lines it cannot read."""
    if not line or line[0] == "#":
        return None
    brace = line.find("{")
    if brace >= 0:
        name, rest = line[:brace], line[line.rfind("}") + 1 :]
    else:
        name, _, rest = line.partition(" ")
    fields = rest.split()
    if not fields:
        return None
    try:
        return name.strip(), float(fields[0])
    except ValueError:
        return None


def parse_load(text: str, names: MetricNames) -> Load:
    """The load in one /metrics page; ValueError when it lacks the queue or running gauge."""
    wanted = names.all
    sums: dict[str, float] = {}
    peaks: dict[str, float] = {}
    for line in text.splitlines():
        if not line.startswith(wanted):
            continue
        sample = _sample(line)
        if sample is None or sample[0] not in wanted:
            continue
        name, value = sample
        if value != value:  # NaN
            continue
        sums[name] = sums.get(name, 0.0) + value
        peaks[name] = max(peaks.get(name, value), value)

    def first(candidates: tuple[str, ...], values: dict[str, float]) -> float | None:
        return next((values[n] for n in candidates if n in values), None)

    waiting, running = first(names.waiting, sums), first(names.running, sums)
    if waiting is None or running is None:
        missing = names.waiting if waiting is None else names.running
        raise ValueError(f"no {' or '.join(missing)} in the metrics")
    kv_cache = first(names.kv_cache, peaks)
    return Load(waiting, running, kv_cache if kv_cache is not None else 0.0)

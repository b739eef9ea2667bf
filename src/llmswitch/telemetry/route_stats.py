"""The per-request metrics of the routing path, counted without locks and read at scrape time.

prometheus_client's metric objects take a lock on every increment and observation: a routed
request made nine such calls. These counts change only on the event loop's thread, so plain
integers do; `collect` runs on the metrics server's thread and reads copies (copying a dict or a
list of numbers is a single step under the GIL, so a copy is never half-updated).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Mapping

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

LATENCY_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
STREAM_ENDS = ("closed", "reset")
_NS_PER_S = 1e9


class LatencyHistogram:
    """Observations in seconds, counted per bucket (the last bucket is +Inf)."""

    __slots__ = ("counts", "total")

    def __init__(self) -> None:
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)
        self.total = 0.0

    def observe_ns(self, nanoseconds: int) -> None:
        seconds = nanoseconds / _NS_PER_S
        self.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
        self.total += seconds

    def add_to(self, family: HistogramMetricFamily, labels: list[str]) -> None:
        counts, total = list(self.counts), self.total
        cumulative, buckets = 0, []
        for bound, count in zip((*LATENCY_BUCKETS, float("inf")), counts, strict=True):
            cumulative += count
            buckets.append((floatToGoString(bound), cumulative))
        family.add_metric(labels, buckets, total)


class RouteStats(Collector):
    """Routed requests by decision and model, routing and signal latency, ext_proc streams."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str], int] = {}
        self.routing = LatencyHistogram()
        self.signals: dict[str, LatencyHistogram] = {}
        self.inflight = 0
        self.streams = dict.fromkeys(STREAM_ENDS, 0)

    def routed(self, decision: str, model: str, routing_ns: int, signal_ns: Mapping[str, tuple[int, int]]) -> None:
        """Count one routed request; `signal_ns` maps signal type -> (start, total ns), as in RouteTimings."""
        key = (decision, model)
        self.requests[key] = self.requests.get(key, 0) + 1
        self.routing.observe_ns(routing_ns)
        for signal_type, (_, total) in signal_ns.items():
            histogram = self.signals.get(signal_type)
            if histogram is None:
                histogram = self.signals[signal_type] = LatencyHistogram()
            histogram.observe_ns(total)

    def stream_started(self) -> None:
        self.inflight += 1

    def stream_ended(self, end: str) -> None:
        self.inflight -= 1
        self.streams[end] += 1

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "llmswitch_requests", "Requests routed, by decision and model.", labels=["decision", "model"]
        )
        for (decision, model), count in dict(self.requests).items():
            requests.add_metric([decision, model], count)
        yield requests
        routing = HistogramMetricFamily(
            "llmswitch_routing_duration_seconds", "Time to route one request: parse, signals, decision and selection."
        )
        self.routing.add_to(routing, [])
        yield routing
        signals = HistogramMetricFamily(
            "llmswitch_signal_duration_seconds", "Time spent evaluating signals of one type for one request.", labels=["type"]
        )
        for signal_type, histogram in dict(self.signals).items():
            histogram.add_to(signals, [signal_type])
        yield signals
        yield GaugeMetricFamily("llmswitch_inflight_streams", "ext_proc streams being processed.", value=self.inflight)
        streams = CounterMetricFamily(
            "llmswitch_extproc_streams",
            "Finished ext_proc streams, by how they ended: closed (Envoy half-closed) or reset (cancelled).",
            labels=["end"],
        )
        for end, count in dict(self.streams).items():
            streams.add_metric([end], count)
        yield streams

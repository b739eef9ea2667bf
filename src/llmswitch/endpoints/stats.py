"""Prometheus metrics of the replicas and the picks, read from the scraper's state at scrape time."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from llmswitch.endpoints.picker import EndpointPicker


class EndpointStats(Collector):
    def __init__(self, picker: EndpointPicker) -> None:
        self.picker = picker

    def collect(self) -> Iterator[Metric]:
        picker = self.picker
        labels = ["model", "endpoint"]
        waiting = GaugeMetricFamily(
            "llmswitch_endpoint_waiting_requests", "Queued requests a replica reported.", labels=labels
        )
        running = GaugeMetricFamily(
            "llmswitch_endpoint_running_requests", "Requests a replica reported running.", labels=labels
        )
        kv_cache = GaugeMetricFamily(
            "llmswitch_endpoint_kv_cache_usage", "KV-cache use (0..1) a replica reported.", labels=labels
        )
        up = GaugeMetricFamily(
            "llmswitch_endpoint_up",
            "1 while a replica's metrics are fresh, 0 when stale or unreachable.",
            labels=labels,
        )
        age = GaugeMetricFamily(
            "llmswitch_endpoint_metrics_age_seconds", "Seconds since a replica's metrics were last read.", labels=labels
        )
        errors = CounterMetricFamily(
            "llmswitch_endpoint_scrape_errors", "Failed reads of a replica's metrics.", labels=labels
        )
        picks = CounterMetricFamily(
            "llmswitch_endpoint_picks",
            "Requests the router sent to a replica, by reason: least_loaded, affinity, random.",
            labels=[*labels, "reason"],
        )
        now = picker.scraper.clock()
        stale_after = picker.settings.stale_after_s
        for replica in picker.scraper.all_replicas():
            key = [replica.model, replica.address]
            fresh = replica.load is not None and now - replica.scraped_at <= stale_after
            up.add_metric(key, 1 if fresh else 0)
            if replica.load is not None:
                waiting.add_metric(key, replica.load.waiting)
                running.add_metric(key, replica.load.running)
                kv_cache.add_metric(key, replica.load.kv_cache)
                age.add_metric(key, now - replica.scraped_at)
            errors.add_metric(key, replica.scrape_errors)
            for reason, count in dict(replica.picks).items():
                picks.add_metric([*key, reason], count)
        fallbacks = CounterMetricFamily(
            "llmswitch_endpoint_fallbacks",
            "Requests for which no replica had fresh metrics (Envoy's own balancing chose).",
            labels=["model"],
        )
        for model, count in dict(picker.fallbacks).items():
            fallbacks.add_metric([model], count)
        responses = CounterMetricFamily(
            "llmswitch_endpoint_responses",
            "Responses by the replica that served them, as Envoy's load balancer reported it.",
            labels=[*labels, "status_class"],
        )
        for (model, address, status_class), count in dict(picker.responses).items():
            responses.add_metric([model, address, status_class], count)
        yield from (waiting, running, kv_cache, up, age, errors, picks, fallbacks, responses)


__all__ = ["EndpointStats"]

"""Picking a replica per request: least queue, then lowest KV-cache use, with conversation affinity.

A replica's queue is its scraped `waiting` gauge plus the requests this router sent it since that
scrape (they are not in it yet), so a burst between two scrapes spreads over the replicas instead of
piling onto the one that looked idle. With `latency_weighting` the queue is counted in time: a new
request joins (queue + 1) x the replica's recent response time (as the router's observer measured
it), so one slow replica's short queue is not taken for a short wait. Replicas of equal speed are
ordered by queue alone. Replicas without fresh metrics (stale, unreachable) rank after
every fresh one: a replica is trusted only on current evidence. When no replica of a model has fresh
metrics the router names none and Envoy balances as it would without the router (behind a GIE
gateway, which cannot balance by itself, the router picks one at random instead).

The result is a ranked list: Envoy sends the request to the first and retries on the next ones.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from llmswitch.config.models import EndpointPickingConfig
from llmswitch.endpoints.affinity import AffinityTable
from llmswitch.endpoints.scraper import EndpointScraper, Replica

LEAST_LOADED = "least_loaded"
AFFINITY = "affinity"
LATENCY_ALPHA = 0.2
"""Weight of one response in a replica's moving average of response times."""
LATENCY_MEMORY_S = 10.0
"""A response time older than this is forgotten: the replica counts as typical again until measured."""
RANDOM = "random"
"""No fresh metrics behind a GIE gateway (which cannot balance by itself): any replica."""


@dataclass(frozen=True)
class Pick:
    addresses: tuple[str, ...]
    """Ranked: the chosen replica first, then where retries go."""
    reason: str


class EndpointPicker:
    def __init__(self, scraper: EndpointScraper | None = None, rng: random.Random | None = None) -> None:
        self.scraper = scraper or EndpointScraper()
        self.rng = rng or random.Random()
        self.settings = EndpointPickingConfig()
        self.affinity = AffinityTable(
            self.settings.affinity.max_entries, self.settings.affinity.ttl_s, self.scraper.clock
        )
        self.fallbacks: dict[str, int] = {}
        """model -> requests left to Envoy's own balancing (no fresh metrics)."""
        self.responses: dict[tuple[str, str, str], int] = {}
        """(model, replica, status class) -> responses, as Envoy reported the replica that served them."""

    def configure(self, settings: EndpointPickingConfig) -> None:
        self.settings = settings
        self.affinity.max_entries = settings.affinity.max_entries
        self.affinity.ttl_s = settings.affinity.ttl_s

    def queue(self, replica: Replica) -> float:
        assert replica.load is not None
        return replica.load.waiting + replica.picks_since_scrape

    def _service_times(self, replicas: list[Replica], now: float) -> dict[str, float]:
        """Each replica's recent response time; a replica without a recent one gets the median of the others'
        (so it is tried again, and measured anew), and with none known every replica counts the same."""
        if not self.settings.latency_weighting:
            return {}
        recent = {
            r.address: r.latency_s
            for r in replicas
            if r.latency_s is not None and now - r.latency_at <= LATENCY_MEMORY_S
        }
        if not recent:
            return {}
        typical = statistics.median(recent.values())
        return {r.address: recent.get(r.address, typical) for r in replicas}

    def _wait(self, replica: Replica, service_times: dict[str, float]) -> float:
        """The queue a new request joins, counted in time when service times are known: (queue + 1) x service time."""
        return (self.queue(replica) + 1) * service_times.get(replica.address, 1.0)

    def _fresh(self, replica: Replica, now: float) -> bool:
        return replica.load is not None and now - replica.scraped_at <= self.settings.stale_after_s

    def pick(
        self,
        model: str,
        conversation: str | None = None,
        subset: Sequence[str] | None = None,
        required: bool = False,
        limit: int = 4,
    ) -> Pick | None:
        """Rank `model`'s replicas (only those in `subset`, when given) and take the first.

        None: nothing to name, let Envoy balance (no fresh metrics, unless `required`, or no replica at all).
        """
        replicas = self.scraper.replicas(model)
        if subset is not None:
            known = {r.address: r for r in replicas}
            replicas = [known.get(address) or Replica(model, address) for address in dict.fromkeys(subset)]
        if not replicas:
            return None
        now = self.scraper.clock()
        fresh = [r for r in replicas if self._fresh(r, now)]
        stale = [r for r in replicas if not self._fresh(r, now)]
        self.rng.shuffle(stale)
        if not fresh:
            self.fallbacks[model] = self.fallbacks.get(model, 0) + 1
            if not required:
                return None
            ranked, reason = stale, RANDOM
        else:
            times = self._service_times(fresh, now)
            ranked = sorted(fresh, key=lambda r: (self._wait(r, times), r.load.kv_cache, self.rng.random())) + stale
            reason = LEAST_LOADED
            affinity = self.settings.affinity
            if affinity.enabled and conversation is not None:
                ranked, reason = self._keep_affinity(model, conversation, ranked, fresh, reason)
        chosen = ranked[0]
        chosen.count_pick(reason)
        if conversation is not None and self.settings.affinity.enabled:
            self.affinity.put(model, conversation, chosen.address)
        return Pick(tuple(r.address for r in ranked[:limit]), reason)

    def _keep_affinity(
        self, model: str, conversation: str, ranked: list[Replica], fresh: list[Replica], reason: str
    ) -> tuple[list[Replica], str]:
        """Move the conversation's replica to the front while its queue is close enough to the best one's."""
        previous = self.affinity.get(model, conversation)
        if previous is None or previous == ranked[0].address:
            return ranked, AFFINITY if previous is not None else reason
        replica = next((r for r in fresh if r.address == previous), None)
        if replica is None or self.queue(replica) > self.queue(ranked[0]) + self.settings.affinity.max_queue_excess:
            return ranked, reason
        return [replica, *(r for r in ranked if r is not replica)], AFFINITY

    def served(self, model: str, address: str, status: int, duration_s: float | None = None) -> None:
        """Count a response from the replica Envoy's load balancer sent the request to; learn its speed."""
        key = (model, address, f"{status // 100}xx")
        self.responses[key] = self.responses.get(key, 0) + 1
        if duration_s is None or status >= 400:
            return
        replica = next((r for r in self.scraper.replicas(model) if r.address == address), None)
        if replica is None:
            return
        now = self.scraper.clock()
        recent = replica.latency_s is not None and now - replica.latency_at <= LATENCY_MEMORY_S
        replica.latency_s = (
            duration_s if not recent else replica.latency_s + LATENCY_ALPHA * (duration_s - replica.latency_s)
        )
        replica.latency_at = now

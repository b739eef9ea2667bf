"""Failover chains: the models one request may be sent to, in order, and the Envoy cluster of each chain.

A request routed to model M by decision D may fail over to D's other modelRefs, then
`routing.fallback_models`, then `default_model` (each once, at most `routing.failover.max_attempts` in
all). Each distinct chain becomes one Envoy composite cluster per client API (attempt k goes to the k-th
model's cluster); the router names it as the request's cluster. The client API in the cluster's name
lets the upstream filter translate a failover attempt without a header that would reach the model.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmswitch.config.schema import Config
from llmswitch.pipeline.routing import DEFAULT_DECISION
from llmswitch.protocols.paths import API_PATHS
from llmswitch.protocols.view import ClientApi

CLUSTER_PREFIX = "failover_"


@dataclass(frozen=True)
class Chain:
    cluster: str
    """The composite cluster's name: `failover_<index>_<api>`."""
    models: tuple[str, ...]
    api: ClientApi

    def after(self, model: str) -> tuple[str, ...]:
        """The models tried before `model` in this chain (those that failed when `model` answered)."""
        return self.models[: self.models.index(model)] if model in self.models else ()


class FailoverChains:
    """Every chain of a config, by (decision, first model, client API) and by cluster name."""

    def __init__(self, config: Config, deployed: list[tuple[str, ...]] | None = None) -> None:
        """`deployed`: the chains (model orders) of the Envoy config in use, when it was generated from an
        earlier config (a hot reload): a route whose chain Envoy lacks gets none (its model's own cluster)
        until Envoy is regenerated, and is listed in `undeployed`."""
        self.enabled = config.routing.failover.enabled
        limit = config.routing.failover.max_attempts
        tail = [*config.routing.fallback_models, config.default_model]
        candidates: dict[str, list[str]] = {d.name: [r.model for r in d.model_refs] for d in config.decisions}
        self._by_route: dict[tuple[str, str], int] = {}
        orders: list[tuple[str, ...]] = list(deployed) if deployed is not None else []
        self.undeployed: list[tuple[str, str]] = []
        for decision, refs in [*candidates.items(), (DEFAULT_DECISION, [])]:
            for first in dict.fromkeys([*refs, *tail]):
                models = tuple(dict.fromkeys([first, *refs, *tail]))[:limit]
                if len(models) < 2 or not self.enabled:
                    continue
                if models not in orders:
                    if deployed is not None:
                        self.undeployed.append((decision, first))
                        continue
                    orders.append(models)
                self._by_route[(decision, first)] = orders.index(models)
        self.orders = orders
        self.chains = [Chain(f"{CLUSTER_PREFIX}{i}_{api}", models, api) for i, models in enumerate(orders) for api in API_PATHS]
        self._by_cluster = {chain.cluster: chain for chain in self.chains}

    def cluster(self, decision: str, model: str, api: ClientApi | None) -> str | None:
        """The chain cluster of a request `decision` routed to `model` (None: no chain, the model's own cluster)."""
        if api is None:
            return None
        index = self._by_route.get((decision, model))
        return None if index is None else f"{CLUSTER_PREFIX}{index}_{api}"

    def by_cluster(self, cluster: str) -> Chain | None:
        return self._by_cluster.get(cluster)

"""Hot reload: a changed config file or SIGHUP builds a new pipeline and swaps it in atomically.

An invalid config, or one whose generated Envoy config differs from the running one (new model
endpoints, ports, ...: changes the running Envoy cannot follow), is rejected and the old config
keeps serving. In-flight requests finish on the pipeline they started with.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from llmswitch.budget.store import BudgetStore, MemoryStore
from llmswitch.config import ConfigError, LoadedConfig, parse_config
from llmswitch.config.cache import CacheConfig
from llmswitch.endpoints import EndpointPicker
from llmswitch.endpoints.stats import EndpointStats
from llmswitch.envoy_config import envoy_bootstrap
from llmswitch.health import HealthTracker
from llmswitch.pipeline import RoutingPipeline
from llmswitch.pipeline.failover import CLUSTER_PREFIX
from llmswitch.telemetry.metrics import RouterMetrics

if TYPE_CHECKING:
    from llmswitch.cache import CacheStore
    from llmswitch.semantics import SemanticEngine
    from llmswitch.telemetry import Telemetry

log = logging.getLogger(__name__)


def _without_chains(bootstrap: dict) -> dict:
    """The bootstrap less its failover chains' clusters and routes: a reload that changes only which
    models a chain holds keeps Envoy's chains (the router names none that Envoy lacks)."""
    resources = bootstrap["static_resources"]
    clusters = [c for c in resources["clusters"] if not c["name"].startswith(CLUSTER_PREFIX)]
    listeners = copy.deepcopy(resources["listeners"])
    for listener in listeners:
        for chain in listener.get("filter_chains", []):
            for network_filter in chain["filters"]:
                for host in network_filter["typed_config"].get("route_config", {}).get("virtual_hosts", []):
                    chain_route = f"routed_{CLUSTER_PREFIX}"
                    host["routes"] = [r for r in host["routes"] if not r.get("name", "").startswith(chain_route)]
    return {**bootstrap, "static_resources": {**resources, "clusters": clusters, "listeners": listeners}}


class RouterState:
    """The pipeline that new streams use, and the state that outlives reloads (model health, spend, cache,
    replica load)."""

    def __init__(
        self, loaded: LoadedConfig, budget_store: BudgetStore | None = None, telemetry: Telemetry | None = None
    ) -> None:
        self.telemetry = telemetry
        self.health = HealthTracker(loaded.config.health)
        self.budget_store = budget_store or MemoryStore()
        self.engine: SemanticEngine | None = None
        self.endpoints = EndpointPicker()
        if telemetry is not None:
            telemetry.metrics.registry.register(EndpointStats(self.endpoints))
        self.cache_store: CacheStore | None = None
        self._cache_settings: tuple[object, ...] | None = None
        self.deployed_chains: list[tuple[str, ...]] | None = None
        self.pipeline = self.build(loaded)
        # The failover chains Envoy's config was generated with: reloads keep them (see FailoverChains).
        self.deployed_chains = self.pipeline.egress.chains.orders

    def _engine_for(self, loaded: LoadedConfig) -> SemanticEngine | None:
        """The semantic engine the config needs: the loaded one if its settings are unchanged."""
        config = loaded.config
        if not config.uses_semantics():
            return None
        settings = config.semantics_per_worker()
        if self.engine is not None and self.engine.settings == settings:
            return self.engine
        from llmswitch.semantics import SemanticEngine  # onnxruntime loads only for semantic configs

        return SemanticEngine(settings, loaded.source)

    def _cache_store_for(self, loaded: LoadedConfig) -> CacheStore | None:
        """The cache store the config needs: the running one (entries kept) while its settings are unchanged."""
        config = loaded.config
        if not config.cache_settings():
            return None
        cache = config.cache or CacheConfig()
        settings = (cache.store, cache.semantic.max_vectors)
        if self.cache_store is not None and settings == self._cache_settings:
            return self.cache_store
        from llmswitch.cache import build_store

        store = build_store(cache)
        if self.telemetry is not None:
            metrics = self.telemetry.metrics
            metrics.cache_entries.set_function(lambda: store.size()[0])
            metrics.cache_bytes.set_function(lambda: store.size()[1])
        self.cache_store, self._cache_settings = store, settings
        return store

    def build(self, loaded: LoadedConfig) -> RoutingPipeline:
        """A pipeline for `loaded`; raises ConfigError (the running one stays) if it cannot be built."""
        engine = self._engine_for(loaded)
        store = self._cache_store_for(loaded)
        pipeline = RoutingPipeline(
            loaded,
            self.health,
            self.budget_store,
            engine,
            self.telemetry,
            cache_store=store,
            endpoints=self.endpoints,
            deployed_chains=self.deployed_chains,
        )
        if undeployed := pipeline.egress.chains.undeployed:
            log.warning(
                "failover chains not in the running Envoy config, routed without failover until it is regenerated "
                "(`llmswitch envoy-config`) and Envoy restarted: %s",
                ", ".join(f"{decision} -> {model}" for decision, model in undeployed),
            )
        self.health.config = loaded.config.health
        self.engine = engine or self.engine
        self.endpoints.configure(loaded.config.endpoint_picking)
        self.endpoints.scraper.configure(loaded.config)
        return pipeline

    def current(self) -> RoutingPipeline:
        return self.pipeline


class ConfigReloader:
    def __init__(self, path: str | Path, state: RouterState, metrics: RouterMetrics) -> None:
        self.path = Path(path)
        self.state = state
        self.metrics = metrics
        self._last_seen = state.pipeline.loaded.sha256
        self._lock = asyncio.Lock()
        metrics.set_config(state.pipeline.loaded.sha256, state.pipeline.loaded.source)

    def _build(self) -> RoutingPipeline:
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(str(self.path), [f"cannot read file: {exc}"]) from None
        loaded = parse_config(text, str(self.path))
        running = self.state.pipeline.config
        if _without_chains(envoy_bootstrap(loaded.config)) != _without_chains(envoy_bootstrap(running)):
            raise ConfigError(
                loaded.source,
                ["the generated Envoy config differs from the running one (models, ports, limits or routing "
                 "settings Envoy reads); regenerate it with `llmswitch envoy-config` and restart instead"],
            )
        return self.state.build(loaded)

    async def reload(self, trigger: str) -> bool:
        """Load, validate and swap in the config file; on any failure keep the current one."""
        async with self._lock:
            try:
                pipeline = await asyncio.to_thread(self._build)
            except ConfigError as err:
                self.metrics.reloads.labels("failed").inc()
                log.error("config reload (%s) rejected, keeping sha256 %s: %s", trigger, self.current.sha256[:12], err)
                return False
            except Exception:
                self.metrics.reloads.labels("failed").inc()
                log.exception("config reload (%s) failed, keeping sha256 %s", trigger, self.current.sha256[:12])
                return False
            self.state.pipeline = pipeline
            self.metrics.reloads.labels("ok").inc()
            self.metrics.set_config(pipeline.loaded.sha256, pipeline.loaded.source)
            log.info("config reloaded (%s): sha256 %s", trigger, pipeline.loaded.sha256[:12])
            return True

    @property
    def current(self) -> LoadedConfig:
        return self.state.pipeline.loaded

    def _file_hash(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_text(encoding="utf-8").encode()).hexdigest()
        except (OSError, UnicodeDecodeError):
            return None

    async def watch(self, interval_s: float) -> None:
        """Poll the file's content; reading through the path follows Kubernetes' ConfigMap symlink swaps."""
        while True:
            await asyncio.sleep(interval_s)
            digest = self._file_hash()
            if digest is None or digest == self._last_seen:
                continue
            self._last_seen = digest  # a bad file is reported once, not on every poll
            await self.reload("file changed")

"""Background scraping of every replica's load, in the router's event loop.

Each configured endpoint is resolved (a DNS name, e.g. a headless Service, may stand for several
replicas) the way Envoy's STRICT_DNS cluster resolves it (IPv4 preferred), so a replica is named
exactly as Envoy names the host: `ip:port`. Each replica has its own scrape loop: one slow or dead
server never delays the others. A failed scrape leaves the last load in place; its age makes it
stale (see `picker`). State outlives config reloads: `configure` keeps the replicas it still has.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from llmswitch.config.models import EndpointPickingConfig
from llmswitch.config.schema import Config
from llmswitch.endpoints.load import Load, MetricNames, parse_load

log = logging.getLogger(__name__)


def envoy_address(ip: str, port: int) -> str:
    """How Envoy's override-host policy and the GIE protocol write a host: ip:port, IPv6 in brackets."""
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


@dataclass
class Replica:
    """One model server instance and what the router knows of its load."""

    model: str
    address: str
    load: Load | None = None
    scraped_at: float = float("-inf")
    """Monotonic time of the last successful scrape."""
    picks_since_scrape: int = 0
    """Requests sent to it since its metrics were read: not yet in them."""
    scrape_errors: int = 0
    last_error: str = ""
    picks: dict[str, int] = field(default_factory=dict)
    """Requests the router sent here, by reason."""
    latency_s: float | None = None
    """Moving average of its response times, as the router's observer saw them."""
    latency_at: float = float("-inf")
    """Monotonic time of the last response that updated `latency_s`."""

    def count_pick(self, reason: str) -> None:
        self.picks_since_scrape += 1
        self.picks[reason] = self.picks.get(reason, 0) + 1


@dataclass(frozen=True)
class Target:
    """A configured endpoint of a model: a host (IP or DNS name), a port, and its metric names."""

    model: str
    host: str
    port: int
    names: MetricNames


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def targets(config: Config) -> list[Target]:
    """The endpoints to scrape: every endpoint of every replicated model (none while picking is off)."""
    picking = config.endpoint_picking
    if not picking.enabled:
        return []
    return [
        Target(model.name, host, port, MetricNames.of(model.metrics or picking.metrics))
        for model in config.models
        if model.replicated
        for host, port in model.addresses
    ]


class EndpointScraper:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.settings = EndpointPickingConfig()
        self._targets: list[Target] = []
        self._resolved: dict[tuple[str, int], list[str]] = {}
        """(host, port) of a DNS endpoint -> the ip:port addresses it resolved to last."""
        self._replicas: dict[tuple[str, str], Replica] = {}
        self._names: dict[tuple[str, str], MetricNames] = {}
        self._by_model: dict[str, list[Replica]] = {}
        self._loops: dict[tuple[str, str], asyncio.Task] = {}
        self._resolver: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: httpx.AsyncClient | None = None

    # -- what is scraped --------------------------------------------------------------------------

    def configure(self, config: Config) -> None:
        """Take a (new) config's endpoints and settings; replicas it still lists keep their state.

        Safe to call from another thread (config reloads build there)."""
        self.settings = config.endpoint_picking
        self._targets = targets(config)
        self._update()

    def _addresses(self, target: Target) -> list[str]:
        if is_ip(target.host):
            return [envoy_address(target.host, target.port)]
        return self._resolved.get((target.host, target.port), [])

    def _update(self) -> None:
        names = {(t.model, address): t.names for t in self._targets for address in self._addresses(t)}
        self._replicas = {key: self._replicas.get(key) or Replica(*key) for key in names}
        self._names = names
        by_model: dict[str, list[Replica]] = {}
        for replica in self._replicas.values():
            by_model.setdefault(replica.model, []).append(replica)
        self._by_model = by_model
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._ensure_loops)

    def replicas(self, model: str) -> list[Replica]:
        return self._by_model.get(model, [])

    def all_replicas(self) -> list[Replica]:
        return list(self._replicas.values())

    # -- the background work ----------------------------------------------------------------------

    def start(self) -> None:
        """Start resolving and scraping in the running event loop."""
        if self._resolver is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._resolver = self._loop.create_task(self._resolve_forever())

    async def stop(self) -> None:
        tasks = [t for t in (self._resolver, *self._loops.values()) if t is not None]
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)
        self._resolver = None
        self._loop = None
        self._loops.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def resolve(self) -> None:
        """Resolve every DNS endpoint once (IPv4 preferred, as the generated clusters ask Envoy to)."""
        loop = asyncio.get_running_loop()
        for host, port in {(t.host, t.port) for t in self._targets if not is_ip(t.host)}:
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                log.warning("cannot resolve %s: %s; keeping its last addresses", host, exc)
                continue
            v4 = sorted({i[4][0] for i in infos if i[0] == socket.AF_INET})
            ips = v4 or sorted({i[4][0] for i in infos if i[0] == socket.AF_INET6})
            self._resolved[(host, port)] = [envoy_address(ip, port) for ip in ips]
        self._update()

    async def _resolve_forever(self) -> None:
        while True:
            try:
                await self.resolve()
            except Exception:
                log.exception("endpoint resolution failed")
            await asyncio.sleep(self.settings.dns_refresh_s)

    def _ensure_loops(self) -> None:
        loop = self._loop
        if loop is None:
            return
        for key in list(self._loops):
            if key not in self._replicas:
                self._loops.pop(key).cancel()
        for key, replica in self._replicas.items():
            if key not in self._loops:
                self._loops[key] = loop.create_task(self._scrape_forever(replica))

    async def _scrape_forever(self, replica: Replica) -> None:
        while True:
            started = self.clock()
            try:
                await self.scrape(replica)
            except Exception:
                log.exception("scraping %s failed", replica.address)
            elapsed = self.clock() - started
            await asyncio.sleep(max(0.0, self.settings.scrape_interval_s - elapsed))

    async def scrape(self, replica: Replica) -> bool:
        """Read one replica's load; on failure keep the last one (it goes stale) and count the error."""
        names = self._names.get((replica.model, replica.address))
        if names is None:
            return False
        if self._client is None:
            self._client = httpx.AsyncClient(trust_env=False, headers={"accept": "text/plain"})
        url = f"http://{replica.address}{names.path}"
        started = self.clock()
        picks_before = replica.picks_since_scrape
        try:
            response = await self._client.get(url, timeout=self.settings.scrape_timeout_s)
            response.raise_for_status()
            load = parse_load(response.text, names)
        except (httpx.HTTPError, ValueError) as exc:
            replica.scrape_errors += 1
            replica.last_error = f"{type(exc).__name__}: {exc}"[:200]
            return False
        replica.load = load
        replica.scraped_at = started
        # Picks made while the scrape was in flight may or may not be in it: count them as not.
        replica.picks_since_scrape = max(0, replica.picks_since_scrape - picks_before)
        replica.last_error = ""
        return True

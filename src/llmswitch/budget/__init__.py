"""Spend budgets: reserve an estimate when a request is routed, settle it when its usage is known.

A request is admitted while every budget it counts against is below its limit, so spend can pass a
limit by at most one request's cost, also across replicas sharing a Redis store. The reservation
travels to the response observer in an internal header (removed before the request goes upstream
and stripped from clients), so whichever router process sees the response settles it.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from llmswitch import headers as names
from llmswitch.budget.store import BudgetKey, BudgetStore, MemoryStore, RedisStore
from llmswitch.config.models import ModelConfig
from llmswitch.config.schema import BudgetConfig

BUDGET_HEADER = names.BUDGET
_DAY_S = 86400
ANONYMOUS_TENANT = "-"
_MAX_TENANTS_SEEN = 1000
"""The tenant of requests that name none: one shared budget (`budget.anonymous`)."""
_TENANT_SCOPES = frozenset({"tenant", "tenant_daily"})


def request_cost(model: ModelConfig, prompt_tokens: int, completion_tokens: int) -> float:
    if model.pricing is None:
        return 0.0
    return (prompt_tokens * model.pricing.input_per_1m + completion_tokens * model.pricing.output_per_1m) / 1e6


@dataclass(frozen=True)
class Reservation:
    amount: float
    keys: tuple[str, ...]

    def header(self) -> str:
        return f"{self.amount!r};{' '.join(self.keys)}"

    @staticmethod
    def from_header(value: str) -> Reservation | None:
        amount, sep, keys = value.partition(";")
        try:
            return Reservation(float(amount), tuple(keys.split())) if sep else None
        except ValueError:
            return None


def build_store(config: BudgetConfig) -> BudgetStore:
    return RedisStore(config.store.url) if config.store.type == "redis" else MemoryStore()


class BudgetGuard:
    def __init__(self, config: BudgetConfig, store: BudgetStore, clock=time.time) -> None:
        self.config = config
        self.store = store
        self._clock = clock
        self._tenant_by_key = {t.api_key_sha256: t.name for t in config.tenants}
        self.tenants_seen: OrderedDict[str, None] = OrderedDict()
        """Tenants that spent lately (bounded), whose budgets `usage` reports."""

    def seen(self, tenant: str) -> None:
        self.tenants_seen[tenant] = None
        self.tenants_seen.move_to_end(tenant)
        if len(self.tenants_seen) > _MAX_TENANTS_SEEN:
            self.tenants_seen.popitem(last=False)

    async def usage(self) -> list[tuple[str, str, float, float]]:
        """(scope, tenant or "", spent, limit) of every limit; tenant scopes for each tenant seen lately."""
        rows = []
        for index, tenant in enumerate(list(self.tenants_seen) or [ANONYMOUS_TENANT]):
            for limit, key in zip(self.config.limits, self.keys(tenant), strict=True):
                per_tenant = limit.scope.startswith("tenant")
                if per_tenant or index == 0:
                    spent = await self.store.spent(key.key)
                    rows.append((limit.scope, tenant if per_tenant else "", spent, limit.amount))
        return rows

    @property
    def active(self) -> bool:
        return bool(self.config.limits)

    def tenant(self, headers: Mapping[str, str]) -> str:
        """The tenant a request spends for: from its API key when tenants are configured, else the header."""
        if self._tenant_by_key:
            token = headers.get("authorization", "").removeprefix("Bearer ").strip()
            return self._tenant_by_key.get(hashlib.sha256(token.encode()).hexdigest(), ANONYMOUS_TENANT)
        return headers.get(self.config.tenant_header) or ANONYMOUS_TENANT

    def refuses(self, tenant: str) -> bool:
        """True when a request without a tenant is refused (`anonymous: reject`) under tenant limits."""
        return tenant == ANONYMOUS_TENANT and self.config.anonymous == "reject" and self._tenant_limits

    @property
    def _tenant_limits(self) -> bool:
        return any(limit.scope in _TENANT_SCOPES for limit in self.config.limits)

    def keys(self, tenant: str) -> list[BudgetKey]:
        config = self.config
        prefix = config.store.key_prefix
        day = time.strftime("%Y-%m-%d", time.gmtime(self._clock()))
        tenant_part = quote(tenant, safe="")
        names = {
            "global": (f"{prefix}:global", 0),
            "daily": (f"{prefix}:day:{day}", 2 * _DAY_S),
            "tenant": (f"{prefix}:tenant:{tenant_part}", 0),
            "tenant_daily": (f"{prefix}:tenant:{tenant_part}:day:{day}", 2 * _DAY_S),
        }
        keys = []
        for limit in config.limits:
            amount = limit.amount
            if tenant == ANONYMOUS_TENANT and limit.scope in _TENANT_SCOPES:
                if config.anonymous == "unlimited":
                    continue
                amount = config.anonymous_amount or amount
            keys.append(BudgetKey(names[limit.scope][0], amount, names[limit.scope][1]))
        return keys

    def estimate(self, model: ModelConfig, prompt_tokens: int, max_completion_tokens: int | None) -> float:
        completion = max_completion_tokens or self.config.completion_estimate_tokens
        return request_cost(model, prompt_tokens, completion)

    async def admit(
        self, tenant: str, model: ModelConfig, prompt_tokens: int, max_completion_tokens: int | None
    ) -> Reservation | None:
        keys = self.keys(tenant)
        amount = self.estimate(model, prompt_tokens, max_completion_tokens)
        if not await self.store.reserve(keys, amount):
            return None
        return Reservation(amount, tuple(k.key for k in keys))

    async def charge(
        self, tenant: str, model: ModelConfig, prompt_tokens: int, max_completion_tokens: int | None
    ) -> Reservation:
        """Record an estimate without checking limits (the downgrade path keeps tracking spend)."""
        keys = [k.key for k in self.keys(tenant)]
        amount = self.estimate(model, prompt_tokens, max_completion_tokens)
        await self.store.adjust(keys, amount)
        return Reservation(amount, tuple(keys))

    async def settle(self, reservation: Reservation, actual: float) -> None:
        if reservation.keys and actual != reservation.amount:
            await self.store.adjust(list(reservation.keys), actual - reservation.amount)


__all__ = ["BUDGET_HEADER", "BudgetGuard", "BudgetKey", "MemoryStore", "RedisStore", "Reservation", "build_store", "request_cost"]

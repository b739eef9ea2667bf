"""The actions step: what happens to a routed request after its model is chosen.

Actions run in order on an `Exchange` (the request, its view and its route plan). An action may
change the plan (a cheaper model), the body the model gets (`exchange.data`, then mark
`exchange.body_changed`), the headers sent upstream, or answer the client itself by returning a
`Respond` (nothing then goes upstream). `build_actions` is the one place that orders them:

1. the safety plugins (`pii`, `jailbreak`; `llmswitch.plugins.safety`): a blocked request holds no
   budget reservation and is never answered from the cache; a redacted body is what the rest sees;
2. budget admission: the only action that may change the model, so the model is final after it;
3. the other plugins (`llmswitch.plugins`): the top-level ones, then the decision's, in list order;
4. the response cache lookup, last: its key covers the final upstream body, and a hit refunds the
   budget reservation (nothing goes upstream, nothing is spent).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from llmswitch.budget import BUDGET_HEADER, BudgetGuard
from llmswitch.config.models import ModelConfig
from llmswitch.config.schema import Config
from llmswitch.pipeline.plan import HttpRequest, Respond, RoutePlan
from llmswitch.pipeline.routing import DEFAULT_DECISION, PASSTHROUGH_DECISION
from llmswitch.protocols.errors import insufficient_quota, tenant_required
from llmswitch.protocols.view import RequestView

if TYPE_CHECKING:
    from llmswitch.telemetry.metrics import RouterMetrics


@dataclass
class Exchange:
    """One routed request on its way through the actions."""

    request: HttpRequest
    view: RequestView | None
    plan: RoutePlan
    body_changed: bool = False
    """An action changed `plan.data`: the body must be rendered again."""
    upstream_headers: list[tuple[str, str]] = field(default_factory=list)
    """Headers to set on the upstream request, beyond the routing headers."""
    dynamic_metadata: dict[str, dict[str, str]] = field(default_factory=dict)
    """Envoy dynamic metadata to set, by namespace (the picked endpoint under `envoy.lb`)."""
    removed_headers: list[str] = field(default_factory=list)
    """Client request headers not to send upstream."""
    on_abandon: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    """Undo what an action committed (a budget reservation) if the request never goes upstream."""

    @property
    def headers(self) -> Mapping[str, str]:
        return self.request.headers

    @property
    def data(self) -> dict[str, Any]:
        return self.plan.data

    def switch_model(self, model: ModelConfig, why: str) -> None:
        self.plan = dataclasses.replace(self.plan, model=model, reason=f"{self.plan.reason}; {why}")

    def note(self, text: str) -> None:
        """Record what an action changed, for the request's trace."""
        self.plan.notes.append(text)

    def set_upstream_headers(self, pairs: list[tuple[str, str]]) -> None:
        """Set headers on the upstream request; a later setting or removal of the same name wins."""
        names = {name for name, _ in pairs}
        self.upstream_headers[:] = [(n, v) for n, v in self.upstream_headers if n not in names]
        self.removed_headers[:] = [n for n in self.removed_headers if n not in names]
        self.upstream_headers.extend(pairs)

    def remove_upstream_headers(self, names: list[str]) -> None:
        removed = set(names)
        self.upstream_headers[:] = [(n, v) for n, v in self.upstream_headers if n not in removed]
        self.removed_headers.extend(n for n in names if n not in self.removed_headers)


class Action(Protocol):
    """One step applied to a routed request; returns a `Respond` to answer the client instead of the model."""

    async def apply(self, exchange: Exchange) -> Respond | None: ...


class BudgetAdmission:
    """Reserve the request's estimated cost; past a limit, downgrade or reject as configured."""

    def __init__(self, guard: BudgetGuard, downgrade_to: ModelConfig, metrics: RouterMetrics | None) -> None:
        self.guard = guard
        self.downgrade_to = downgrade_to
        self.metrics = metrics

    async def apply(self, exchange: Exchange) -> Respond | None:
        guard = self.guard
        plan = exchange.plan
        tenant = guard.tenant(exchange.headers)
        if guard.refuses(tenant):
            raise tenant_required()
        reservation = await guard.admit(tenant, plan.model, plan.prompt_tokens, plan.max_completion_tokens)
        if reservation is None:
            if guard.config.on_exceeded == "reject":
                raise insufficient_quota()
            if self.metrics is not None:
                self.metrics.budget_downgrades.inc()
            exchange.switch_model(self.downgrade_to, f"budget exhausted, downgraded to {self.downgrade_to.name}")
            # Past the limit spend is still tracked: charged without a limit check.
            reservation = await guard.charge(tenant, self.downgrade_to, plan.prompt_tokens, plan.max_completion_tokens)
        exchange.upstream_headers.append((BUDGET_HEADER, reservation.header()))
        exchange.on_abandon.append(lambda: guard.settle(reservation, 0.0))
        return None


def downgrade_model(config: Config) -> ModelConfig:
    """Where over-budget requests go: budget.downgrade_model, else the model with the lowest prices."""
    if config.budget.downgrade_model is not None:
        return config.model(config.budget.downgrade_model)
    return min(config.models, key=lambda m: (m.pricing.input_per_1m + m.pricing.output_per_1m) if m.pricing else 0.0)


def build_actions(
    config: Config,
    guard: BudgetGuard,
    metrics: RouterMetrics | None,
    plugins: Callable[[str], list[Action]] | None = None,
    endpoint_pick: Action | None = None,
    safety: Callable[[str], list[Action]] | None = None,
) -> dict[str, list[Action]]:
    """decision name (or default / passthrough) -> its actions, in the order they run; `safety` gives a
    decision's safety plugins, `plugins` its other plugins and cache lookup, in order (see the module
    docstring). The endpoint pick runs last: it picks a replica of the model the other actions settled on."""
    shared: list[Action] = []
    if guard.active:
        shared.append(BudgetAdmission(guard, downgrade_model(config), metrics))
    last = [endpoint_pick] if endpoint_pick is not None else []
    names = [DEFAULT_DECISION, PASSTHROUGH_DECISION, *(d.name for d in config.decisions)]
    return {
        name: [
            *(safety(name) if safety is not None else ()),
            *shared,
            *(plugins(name) if plugins is not None else ()),
            *last,
        ]
        for name in names
    }

"""The `reasoning` plugin: reasoning on, off or at an effort, in the chosen model's dialect.

The dialect comes from `models[].reasoning_family` (see `reasoning_families`); a model that
declares none is left alone. Parameters the model would reject while reasoning are dropped or
fixed: each fix is a trace note, a metric (`llmswitch_plugin_fixes_total`), and a log line the
first time it happens for a model in this process.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from llmswitch.config.models import ModelConfig
from llmswitch.config.plugins import ReasoningPlugin
from llmswitch.pipeline.actions import Exchange
from llmswitch.pipeline.plan import Respond
from llmswitch.plugins.reasoning_families import Family, ReasoningSetting, family

if TYPE_CHECKING:
    from llmswitch.telemetry.metrics import RouterMetrics

log = logging.getLogger(__name__)


class Reasoning:
    def __init__(self, config: ReasoningPlugin, models: list[ModelConfig], metrics: RouterMetrics | None) -> None:
        self.setting = ReasoningSetting(config.enabled, config.effort, config.budget_tokens)
        self.families: dict[str, Family | None] = {m.name: family(m.reasoning_family) for m in models}
        self.metrics = metrics
        self._logged: set[tuple[str, str, str]] = set()

    async def apply(self, exchange: Exchange) -> Respond | None:
        model = exchange.plan.model.name
        dialect = self.families.get(model)
        if dialect is None or exchange.view is None:
            return None
        fixes = dialect.apply(exchange.data, exchange.plan.api, self.setting)
        exchange.body_changed = True
        for fix in fixes:
            exchange.note(f"reasoning: {fix.detail}")
            if self.metrics is not None:
                self.metrics.plugin_fixes.labels(model, fix.parameter, fix.action).inc()
            key = (model, fix.parameter, fix.action)
            if key not in self._logged:
                self._logged.add(key)
                log.info("reasoning plugin for %s: %s (logged once per model and fix)", model, fix.detail)
        return None

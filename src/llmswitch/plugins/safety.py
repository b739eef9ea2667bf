"""The safety plugins `pii` and `jailbreak`: block, redact or flag a request before anything else acts on it.

They run first among a request's actions (before budget admission, so a blocked request never holds a
reservation, and before the cache lookup, so a blocked request is never answered from the cache and
the cache key covers the redacted body); top-level ones first, then the decision's, in list order.

Detection is the one the `pii` and `jailbreak` signals run, on the same per-request memo: a decision
rule that already evaluated a detector with the same settings is not evaluated again (nor is the
prompt's encoder pass). What they report (the `x-llmswitch-safety` header, the
`llmswitch_safety_actions_total` metric, the `llmswitch.safety` trace attribute, the access log's
`safety` field) names entity types and counts, never the text found.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, NoReturn

from llmswitch.config import ConfigError
from llmswitch.config.safety import (
    BLOCK_STATUS,
    JAILBREAK_BLOCKED,
    PII_BLOCKED,
    SAFETY_PLUGIN_TYPES,
    JailbreakPlugin,
    PiiPlugin,
)
from llmswitch.config.schema import Config
from llmswitch.config.signals import JailbreakSignal, PiiSignal
from llmswitch.headers import SAFETY as SAFETY_HEADER
from llmswitch.pipeline.actions import Action, Exchange
from llmswitch.pipeline.plan import Respond
from llmswitch.protocols.errors import RequestError
from llmswitch.request import RouteRequest, SemanticsRequired, SemanticsUnavailable
from llmswitch.safety.pii import find_pii, redact_text
from llmswitch.safety.redact import redact_request
from llmswitch.signals.jailbreak import JailbreakDetector
from llmswitch.signals.pii import PiiDetector

if TYPE_CHECKING:
    from llmswitch.semantics import SemanticEngine
    from llmswitch.telemetry.metrics import RouterMetrics

ATTRIBUTE = "llmswitch.safety"
JAILBREAK_MESSAGE = "The request was blocked: it looks like a jailbreak or prompt-injection attempt."
_PLUGIN_NAME = "plugin"


def _request(exchange: Exchange) -> RouteRequest | None:
    """The request as signals see it, sharing routing's memo (and semantics) so detectors run once."""
    if exchange.view is None:
        return None
    plan = exchange.plan
    return RouteRequest(exchange.headers, exchange.view, plan.semantics, plan.semantics_timed_out, memo=plan.memo)


def block(exchange: Exchange, code: str, message: str) -> NoReturn:
    """Refuse the request in its client API's shape; its trace keeps no prompt."""
    exchange.plan.prompt = ""
    raise RequestError(BLOCK_STATUS, code, message)


def report(exchange: Exchange, entry: str) -> None:
    """Add one finding (`pii=email,phone`, `jailbreak`) to the upstream header and the trace attribute."""
    attributes = exchange.plan.attributes
    previous = attributes.get(ATTRIBUTE)
    value = f"{previous}; {entry}" if previous else entry
    attributes[ATTRIBUTE] = value
    exchange.set_upstream_headers([(SAFETY_HEADER, value)])


class _SafetyAction:
    signal = ""

    def __init__(self, action: str, metrics: RouterMetrics | None) -> None:
        self.action = action
        self.metrics = metrics

    def count(self) -> None:
        if self.metrics is not None:
            self.metrics.safety_actions.labels(self.signal, self.action).inc()


class PiiAction(_SafetyAction):
    signal = "pii"

    def __init__(self, config: PiiPlugin, metrics: RouterMetrics | None) -> None:
        super().__init__(config.action, metrics)
        self.config = config
        self.types = tuple(config.types)
        self.scope = tuple(config.scope)
        if config.action != "redact":
            spec = PiiSignal(name=_PLUGIN_NAME, types=config.types, scope=config.scope, min_score=config.min_score)
            self.detector = PiiDetector(spec)

    async def apply(self, exchange: Exchange) -> Respond | None:
        if exchange.view is None or exchange.plan.api is None:
            return None
        if self.action == "redact":
            self._redact(exchange)
            return None
        request = _request(exchange)
        spans = self.detector.spans(request) if request is not None else []
        if not spans:
            return None
        found = ",".join(sorted({s.type for s in spans}))
        self.count()
        if self.action == "block":
            block(exchange, PII_BLOCKED, f"The request was blocked: it contains personal data or secrets ({found}).")
        report(exchange, f"pii={found}")
        return None

    def _redact(self, exchange: Exchange) -> None:
        config = self.config
        plan = exchange.plan
        result = redact_request(plan.api, plan.data, self.types, self.scope, config.min_score, config.placeholder)  # type: ignore[arg-type]
        if not result.changed:
            return
        plan.data = result.data
        exchange.body_changed = True
        if plan.prompt and "user" in self.scope:  # the user's text, which traces may carry: redacted too
            plan.prompt = redact_text(plan.prompt, find_pii(plan.prompt, self.types, config.min_score), config.placeholder)
        self.count()
        counts = ",".join(f"{kind}:{n}" for kind, n in result.counts.items())
        report(exchange, f"pii_redacted={counts}")


class JailbreakAction(_SafetyAction):
    signal = "jailbreak"

    def __init__(
        self, config: JailbreakPlugin, metrics: RouterMetrics | None, analyzer: SemanticEngine | None, timeout_s: float
    ) -> None:
        super().__init__(config.action, metrics)
        spec = JailbreakSignal(name=_PLUGIN_NAME, method=config.method, threshold=config.threshold)
        self.detector = JailbreakDetector(spec)
        self.analyzer = analyzer
        self.timeout_s = timeout_s

    async def apply(self, exchange: Exchange) -> Respond | None:
        request = _request(exchange)
        if request is None or not await self._matched(exchange, request):
            return None
        self.count()
        if self.action == "block":
            block(exchange, JAILBREAK_BLOCKED, JAILBREAK_MESSAGE)
        report(exchange, "jailbreak")
        return None

    async def _matched(self, exchange: Exchange, request: RouteRequest) -> bool:
        try:
            return self.detector.evaluate(request).matched
        except SemanticsRequired:  # routing did not run the encoder: run it once, within the timeout
            pass
        except SemanticsUnavailable:
            return False
        if self.analyzer is None:
            return False
        try:
            semantics = await asyncio.wait_for(self.analyzer.analyze(request.last_user_text), self.timeout_s)
        except TimeoutError:
            return False
        exchange.plan.semantics = request.semantics = semantics  # the cache lookup reuses the embedding
        return self.detector.evaluate(request).matched


def build_safety(
    config: Config, metrics: RouterMetrics | None, analyzer: SemanticEngine | None = None
) -> Callable[[str], list[Action]]:
    """decision name -> its safety actions, top-level ones first (for `build_actions`, which runs them first)."""
    timeout_s = config.semantics.timeout_ms / 1000
    built: dict[int, Action] = {}  # one action per plugin object: a top-level plugin is shared by every list

    def action(plugin: PiiPlugin | JailbreakPlugin) -> Action:
        if id(plugin) not in built:
            if isinstance(plugin, PiiPlugin):
                built[id(plugin)] = PiiAction(plugin, metrics)
            else:
                if plugin.method != "rules" and (analyzer is None or analyzer.jailbreak is None):
                    problem = f"a jailbreak plugin with method {plugin.method!r} needs the trained head, which "
                    raise ConfigError("<config>", [problem + "needs the default encoder; use method: rules"])
                built[id(plugin)] = JailbreakAction(plugin, metrics, analyzer, timeout_s)
        return built[id(plugin)]

    actions = {
        name: [action(p) for p in plugins if p.type in SAFETY_PLUGIN_TYPES]  # type: ignore[arg-type]
        for name, plugins in config.plugin_lists().items()
    }
    return lambda name: actions.get(name, [])

"""The contract every model-selection algorithm follows."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from llmswitch.request import RouteRequest

if TYPE_CHECKING:
    from llmswitch.budget import BudgetGuard
    from llmswitch.config.decisions import Decision
    from llmswitch.config.schema import Config
    from llmswitch.telemetry.metrics import RouterMetrics


@dataclass(frozen=True)
class Selection:
    model: str
    reason: str
    details: dict[str, str | float] = field(default_factory=dict)
    """Extra facts for traces (`llmswitch.selection.<key>` span attributes), e.g. an LLM router's latency."""


@dataclass(frozen=True)
class SelectorContext:
    """What a selector may read when it is built (at config load and on every reload)."""

    config: Config
    decision: Decision
    decision_index: int
    source: str
    """The config file, for ConfigError messages."""
    base_dir: Path
    """Relative artifact paths resolve against the config file's folder."""
    budget: BudgetGuard
    metrics: RouterMetrics | None = None
    """Where selectors that call out (llm) count their calls; None leaves them uncounted."""
    algorithm_path: str | None = None
    """The YAML path of a wrapped (inner) algorithm; None for the decision's own."""

    @property
    def path(self) -> str:
        """The YAML path of this decision's algorithm, for error messages."""
        return self.algorithm_path or f"decisions[{self.decision_index}].algorithm"


class Selector(Protocol):
    """Picks one of a decision's modelRefs for a request, synchronously (CPU only, well under 1 ms)."""

    algorithm: str

    def select(self, request: RouteRequest) -> Selection: ...


class AsyncSelector(Protocol):
    """A selector that waits on I/O (an LLM call, a shared spend store); the pipeline awaits it."""

    algorithm: str

    async def select_async(self, request: RouteRequest) -> Selection: ...


class SelectionRequired(Exception):
    """Raised by the synchronous pipeline when the matched decision's selector is asynchronous."""

    def __init__(self, decision: str, request: RouteRequest) -> None:
        super().__init__(f"decision {decision!r} needs an asynchronous selection")
        self.decision = decision
        self.request = request

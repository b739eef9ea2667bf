"""What the routing pipeline knows about one request."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from llmswitch.protocols.view import RequestView
from llmswitch.tokens import estimate_tokens

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Semantics:
    """What the embedding model says about a prompt; computed at most once per request."""

    embedding: np.ndarray
    """L2-normalised sentence embedding, shape (dimension,)."""
    domain_probabilities: np.ndarray | None = None
    """Probability per domain category, or None without a domain classifier."""
    classifier_probabilities: Mapping[str, np.ndarray] = field(default_factory=dict)
    """Label probabilities per trained classifier (by its model's sha256), for the classifiers live configs test."""
    jailbreak_probability: float | None = None
    """P(jailbreak or prompt injection) from the shipped jailbreak head, or None without one."""


class SemanticsRequired(Exception):
    """Raised by the synchronous pipeline when a signal or selector needs the prompt's semantics."""

    def __init__(self, text: str) -> None:
        super().__init__("this request needs semantic analysis")
        self.text = text


class SemanticsUnavailable(Exception):
    """The prompt's analysis did not finish within `semantics.timeout_ms`: route without it."""


class Analyzer(Protocol):
    async def analyze(self, text: str) -> Semantics: ...


@dataclass
class RouteRequest:
    headers: Mapping[str, str]
    view: RequestView
    semantics: Semantics | None = None
    semantics_timed_out: bool = False
    # Per-request memo for signals, so each derived value is computed at most once.
    memo: dict[str, object] = field(default_factory=dict)
    # Computed on first use, by hand: functools.cached_property takes a lock on every read before 3.12.
    _folded: str | None = field(default=None, init=False, repr=False)
    _tokens: int | None = field(default=None, init=False, repr=False)

    @property
    def user_text(self) -> str:
        return self.view.user_text

    @property
    def last_user_text(self) -> str:
        return self.view.last_user_text

    @property
    def tool_text(self) -> str:
        return self.view.tool_text

    @property
    def user_text_folded(self) -> str:
        if self._folded is None:
            self._folded = self.view.user_text.casefold()
        return self._folded

    @property
    def prompt_tokens(self) -> int:
        if self._tokens is None:
            self._tokens = estimate_tokens(self.view.conversation_text)
        return self._tokens

    def require_semantics(self) -> Semantics:
        """The prompt's semantics; raises SemanticsRequired so the async caller computes them once, or
        SemanticsUnavailable once that timed out."""
        if self.semantics is None:
            if self.semantics_timed_out:
                raise SemanticsUnavailable()
            raise SemanticsRequired(self.view.last_user_text)
        return self.semantics

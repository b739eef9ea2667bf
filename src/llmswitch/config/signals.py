"""The `signals:` section (what decision rules test) and the encoder settings semantic signals run on."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, model_validator

from llmswitch.config.base import HeaderName, Name, StrictModel
from llmswitch.safety.pii import PII_TYPES
from llmswitch.training.mmlu_categories import CATEGORIES as DOMAIN_CATEGORIES


class KeywordSignal(StrictModel):
    name: Name
    keywords: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    case_sensitive: bool = False
    operator: Literal["any", "all"] = Field("any", description="Match when any (or all) keywords occur.")


class ContextSignal(StrictModel):
    name: Name
    min_tokens: int | None = Field(None, ge=0)
    max_tokens: int | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _has_bound(self) -> ContextSignal:
        if self.min_tokens is None and self.max_tokens is None:
            raise ValueError("set min_tokens, max_tokens or both")
        if self.min_tokens is not None and self.max_tokens is not None and self.min_tokens > self.max_tokens:
            raise ValueError("min_tokens must not exceed max_tokens")
        return self


class HeaderSignal(StrictModel):
    """Matches a request header: equal to a value, one of several, a regex, or merely present."""

    name: Name
    header: HeaderName
    equals: str | None = None
    one_of: list[str] | None = Field(None, min_length=1)
    regex: str | None = None

    @model_validator(mode="after")
    def _one_matcher(self) -> HeaderSignal:
        given = [key for key in ("equals", "one_of", "regex") if getattr(self, key) is not None]
        if len(given) > 1:
            raise ValueError(f"use only one of equals, one_of, regex (got {', '.join(given)})")
        if self.regex is not None:
            try:
                re.compile(self.regex)
            except re.error as exc:
                raise ValueError(f"invalid regex: {exc}") from exc
        return self


class DomainSignal(StrictModel):
    """The domain classifier's probability for one category (or the sum over several)."""

    name: Name
    categories: list[str] | None = Field(
        None, min_length=1, description=f"Defaults to [name]. One of: {', '.join(DOMAIN_CATEGORIES)}."
    )
    threshold: float = Field(0.5, ge=0, le=1, description="Match when the probability reaches this.")

    @model_validator(mode="after")
    def _known_categories(self) -> DomainSignal:
        unknown = sorted(set(self.domain_categories) - set(DOMAIN_CATEGORIES))
        if unknown:
            raise ValueError(f"unknown domain categories {unknown}; known: {', '.join(DOMAIN_CATEGORIES)}")
        return self

    @property
    def domain_categories(self) -> list[str]:
        return self.categories or [self.name]


class EmbeddingSignal(StrictModel):
    """Cosine similarity between the prompt and example phrases."""

    name: Name
    candidates: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    threshold: float = Field(0.6, ge=-1, le=1)
    aggregation: Literal["mean", "max", "any"] = Field(
        "max", description="mean: the mean similarity must reach threshold; max/any: the best one must."
    )


COMPLEXITY_LEVELS = ("easy", "medium", "hard")
# ISO 639-1 codes the language detector (lingua) knows.
LANGUAGE_CODES = (
    "af ar az be bg bn bs ca cs cy da de el en eo es et eu fa fi fr ga gu he hi hr hu hy id is it ja ka kk ko "
    "la lg lt lv mi mk mn mr ms nb nl nn pa pl pt ro ru sk sl sn so sq sr st sv sw ta te th tl tn tr ts uk ur "
    "vi xh yo zh zu"
).split()
ExamplePrompt = Annotated[str, Field(min_length=1)]


class ComplexityExamples(StrictModel):
    """Labelled example prompts per level; they replace the shipped set."""

    easy: list[ExamplePrompt] = Field(min_length=1)
    medium: list[ExamplePrompt] = Field(min_length=1)
    hard: list[ExamplePrompt] = Field(min_length=1)


class ComplexitySignal(StrictModel):
    """The prompt's difficulty level, by its similarity to labelled example prompts."""

    name: Name
    level: Literal["easy", "medium", "hard"]
    threshold: float = Field(
        0.0, ge=0, le=1, description="Match when this level is predicted with at least this confidence."
    )
    examples: ComplexityExamples | None = Field(None, description="Default: the shipped example prompts.")


class LanguageSignal(StrictModel):
    """The prompt's natural language, detected offline."""

    name: Name
    languages: list[Literal[tuple(LANGUAGE_CODES)]] = Field(  # type: ignore[valid-type]
        min_length=1, description="ISO 639-1 codes; the signal matches when the detected language is one of them."
    )
    min_confidence: float = Field(
        0.0, ge=0, le=1, description="Also require the summed confidence of these languages to reach this."
    )


class ClassifierSignal(StrictModel):
    """A trained text classifier (`llmswitch train classifier`); conditions name one of its labels."""

    name: Name
    model_dir: str = Field(description="The folder `llmswitch train classifier` wrote.")
    threshold: float = Field(0.5, ge=0, le=1, description="Match when the label's probability reaches this.")

    @property
    def path(self) -> Path:
        return Path(self.model_dir).expanduser()

    def labels(self) -> list[str]:
        """The model's labels; raises OSError or ValueError when the folder holds no classifier."""
        labels = json.loads((self.path / "labels.json").read_text(encoding="utf-8"))
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError("labels.json is not a list of strings")
        return labels


class JailbreakSignal(StrictModel):
    """Jailbreak and prompt-injection attempts (see docs/safety.md for how each method scores)."""

    name: Name
    method: Literal["model", "rules", "both"] = Field(
        "both", description="model: the trained head on the latest user turn (needs the encoder); rules: phrase "
        "rules on every user turn and tool result; both: either one."
    )
    threshold: float = Field(0.9, ge=0, le=1, description="Match when the head's probability reaches this.")


class PiiSignal(StrictModel):
    """Personal data and secrets in the request (see docs/safety.md for the entity types)."""

    name: Name
    types: list[Literal[PII_TYPES]] = Field(list(PII_TYPES), min_length=1)  # type: ignore[valid-type]
    scope: list[Literal["user", "tool"]] = Field(
        ["user", "tool"], min_length=1, description="user: user turns; tool: tool results and tool-call arguments."
    )
    min_score: float = Field(0.5, ge=0, le=1, description="Ignore weaker candidates (a bare digit run scores 0.4).")


class SignalsConfig(StrictModel):
    keywords: list[KeywordSignal] = []
    context: list[ContextSignal] = []
    headers: list[HeaderSignal] = []
    domains: list[DomainSignal] = []
    embeddings: list[EmbeddingSignal] = []
    complexity: list[ComplexitySignal] = []
    language: list[LanguageSignal] = []
    classifiers: list[ClassifierSignal] = []
    jailbreak: list[JailbreakSignal] = []
    pii: list[PiiSignal] = []


# Condition `type` -> the `signals:` section that defines its names.
SIGNAL_SECTIONS: dict[str, str] = {
    "keyword": "keywords",
    "context": "context",
    "header": "headers",
    "domain": "domains",
    "embedding": "embeddings",
    "complexity": "complexity",
    "language": "language",
    "classifier": "classifiers",
    "jailbreak": "jailbreak",
    "pii": "pii",
}
# Condition types whose signals need the prompt's semantic analysis (the micro-batched ONNX pass).
SEMANTIC_SIGNAL_TYPES = frozenset({"domain", "embedding", "complexity", "classifier"})


class SemanticsConfig(StrictModel):
    """The embedding model behind semantic signals and feature-based selectors (loaded only if used)."""

    model_dir: str | None = Field(
        None, description="An exported model (`llmswitch models export`); default: the cache folder."
    )
    quantized: bool = Field(
        False,
        description="Without model_dir: use the int8 export (`llmswitch models export --quantize`), about twice "
        "as fast on CPU; see docs/domain-classifier.md for its accuracy.",
    )
    domain_head: str | None = Field(None, description="Domain classifier head; default: the one shipped.")
    device: Literal["auto", "cpu", "cuda"] = "auto"
    intra_op_threads: int = Field(
        1,
        ge=1,
        le=64,
        description="CPU threads per inference, per router worker; capped at the CPUs per worker (CPUs // workers).",
    )
    max_tokens: int | None = Field(
        None,
        ge=8,
        le=8192,
        description="Tokens of each prompt the encoder reads (head and tail kept); default: the model's window. "
        "Encoder time grows with it: see docs/domain-classifier.md.",
    )
    max_batch_size: int = Field(16, ge=1, le=1024, description="Concurrent prompts embedded in one pass.")
    max_wait_ms: float = Field(
        1.0,
        ge=0,
        le=100,
        description="How long a batch waits to fill up; only after a batch of several prompts (a lone request runs at once).",
    )
    timeout_ms: float = Field(
        250,
        gt=0,
        le=60000,
        description="Past this (an overloaded encoder), route without semantics: semantic signals do not match "
        "and feature-based selectors take their first modelRef. Keep it below routing.message_timeout_ms.",
    )

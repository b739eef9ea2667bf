"""Train/eval splits: which prompts a selector may learn from and which it is judged on.

A prompt's split depends only on a stable hash of its split key (the normalised query text by
default), so every tool (domain classifier, selectors, evaluation) agrees on it and no evaluation
prompt is ever part of any training set. `SplitSpec` chooses the key, the eval share, a seed that
reshuffles the assignment, and k folds (each fold in turn is the eval split). The default spec
(query text, 20%, seed 0) is the project's one split.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol

Split = Literal["train", "eval"]
SplitKey = Literal["query", "query_id"]

EVAL_FRACTION = 0.2


def normalize_prompt(text: str) -> str:
    """Collapse whitespace so cosmetic differences do not move a prompt between splits."""
    return " ".join(text.split())


def split_bucket(text: str, seed: int = 0) -> float:
    """A uniform number in [0, 1) derived from the text (and the seed, when not 0) alone."""
    salted = normalize_prompt(text) if seed == 0 else f"{seed}\0{normalize_prompt(text)}"
    digest = hashlib.sha256(salted.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(text: str, eval_fraction: float = EVAL_FRACTION) -> Split:
    """Return "eval" for about ``eval_fraction`` of prompts and "train" for the rest."""
    return "eval" if split_bucket(text) < eval_fraction else "train"


class _Keyed(Protocol):
    query: str
    query_id: str


@dataclass(frozen=True)
class SplitSpec:
    """How records are split. With `folds`, fold `fold` is the eval split and `eval_share` is unused."""

    key: SplitKey = "query"
    eval_share: float = EVAL_FRACTION
    seed: int = 0
    folds: int | None = None
    fold: int = 0

    def __post_init__(self) -> None:
        if self.folds is None and not 0.0 < self.eval_share < 1.0:
            raise ValueError(f"eval share must be between 0 and 1, got {self.eval_share}")
        if self.folds is not None and not (self.folds >= 2 and 0 <= self.fold < self.folds):
            raise ValueError(f"need folds >= 2 and 0 <= fold < folds, got folds={self.folds}, fold={self.fold}")

    def bucket(self, record: _Keyed) -> float:
        return split_bucket(record.query if self.key == "query" else record.query_id, self.seed)

    def split_of(self, record: _Keyed) -> Split:
        b = self.bucket(record)
        if self.folds is not None:
            return "eval" if int(b * self.folds) == self.fold else "train"
        return "eval" if b < self.eval_share else "train"

    def with_fold(self, fold: int) -> SplitSpec:
        return SplitSpec(self.key, self.eval_share, self.seed, self.folds, fold)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SplitSpec:
        return cls(**data)

    def describe(self) -> str:
        how = f"fold {self.fold + 1} of {self.folds}" if self.folds else f"{100 * self.eval_share:g}% eval"
        return f"split by {self.key}, {how}, seed {self.seed}"


DEFAULT_SPLIT = SplitSpec()

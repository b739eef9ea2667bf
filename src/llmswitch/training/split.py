"""The one train/eval split used everywhere in the project.

A prompt's split depends only on a stable hash of its normalised text, so every
tool (domain classifier, selectors, evaluation) agrees on it and no evaluation
prompt is ever part of any training set.
"""

from __future__ import annotations

import hashlib
from typing import Literal

Split = Literal["train", "eval"]

EVAL_FRACTION = 0.2


def normalize_prompt(text: str) -> str:
    """Collapse whitespace so cosmetic differences do not move a prompt between splits."""
    return " ".join(text.split())


def split_bucket(text: str) -> float:
    """A uniform number in [0, 1) derived from the prompt text alone."""
    digest = hashlib.sha256(normalize_prompt(text).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def split_of(text: str, eval_fraction: float = EVAL_FRACTION) -> Split:
    """Return "eval" for about ``eval_fraction`` of prompts and "train" for the rest."""
    return "eval" if split_bucket(text) < eval_fraction else "train"

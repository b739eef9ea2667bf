"""Prompt tokenisation for the ONNX encoder, using the model's own tokenizer.json.

Prompts longer than the model window are cut deliberately instead of failing:
the first quarter of the token budget is taken from the head of the prompt and
the remaining three quarters from its tail. The head usually carries the
instruction or topic, the tail the actual question; the 1:3 split follows the
head+tail result of Sun et al., "How to Fine-Tune BERT for Text Classification"
(2019). Special tokens ([CLS], [SEP]) are added after the cut, so a truncated
prompt still fills exactly ``max_length`` tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

HEAD_FRACTION = 0.25
# Characters kept before tokenising, per token of budget: bounds the cost of
# tokenising a pathological multi-megabyte prompt without ever cutting text a
# normal prompt would keep (English averages ~4-5 characters per token).
CHARS_PER_TOKEN_CAP = 32


@dataclass(frozen=True)
class TokenBatch:
    """Right-padded int64 arrays of shape (batch, longest sequence)."""

    input_ids: np.ndarray
    attention_mask: np.ndarray


def head_tail(ids: list[int], budget: int, head_fraction: float = HEAD_FRACTION) -> list[int]:
    """Keep ``budget`` tokens: ``head_fraction`` of them from the start, the rest from the end."""
    if len(ids) <= budget:
        return ids
    head = int(budget * head_fraction)
    tail = budget - head
    return ids[:head] + ids[len(ids) - tail :]


class PromptTokenizer:
    """Encodes prompts into padded batches of at most ``max_length`` tokens."""

    def __init__(self, tokenizer_file: Path, max_length: int) -> None:
        self._tokenizer = Tokenizer.from_file(str(tokenizer_file))
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        # Single-sequence template, e.g. [CLS] text [SEP]: its special tokens
        # are what encoding an empty string yields.
        specials = self._tokenizer.encode("", add_special_tokens=True).ids
        if len(specials) != 2:
            raise ValueError(f"expected a [CLS] text [SEP] template, got special ids {specials}")
        self._prefix, self._suffix = specials[:1], specials[1:]
        self._pad_id = self._tokenizer.padding["pad_id"] if self._tokenizer.padding else 0
        self.max_length = max_length
        self._budget = max_length - len(specials)
        self._char_cap = self._budget * CHARS_PER_TOKEN_CAP

    def _clip_chars(self, text: str) -> str:
        if len(text) <= self._char_cap:
            return text
        head = int(self._char_cap * HEAD_FRACTION)
        return text[:head] + " " + text[len(text) - (self._char_cap - head) :]

    def token_ids(self, texts: list[str]) -> list[list[int]]:
        """Token ids with special tokens, each sequence cut to ``max_length``."""
        encodings = self._tokenizer.encode_batch([self._clip_chars(t) for t in texts], add_special_tokens=False)
        return [self._prefix + head_tail(e.ids, self._budget) + self._suffix for e in encodings]

    def __call__(self, texts: list[str]) -> TokenBatch:
        sequences = self.token_ids(texts)
        width = max(len(s) for s in sequences)
        input_ids = np.full((len(sequences), width), self._pad_id, dtype=np.int64)
        attention_mask = np.zeros((len(sequences), width), dtype=np.int64)
        for row, seq in enumerate(sequences):
            input_ids[row, : len(seq)] = seq
            attention_mask[row, : len(seq)] = 1
        return TokenBatch(input_ids=input_ids, attention_mask=attention_mask)

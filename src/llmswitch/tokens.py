"""Token counts for context-length signals.

The router does not know each upstream's tokenizer, so it estimates: about four UTF-8 bytes
per token, which tracks BPE tokenizers on English text within roughly 20% and overestimates
on code and non-Latin scripts (the safe side for "is this prompt long?" decisions).
"""

from __future__ import annotations

BYTES_PER_TOKEN = 4


def estimate_tokens(text: str) -> int:
    if text.isascii():
        return (len(text) + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN
    return (len(text.encode("utf-8")) + BYTES_PER_TOKEN - 1) // BYTES_PER_TOKEN

"""Prompt tokenisation: padding, and deliberate head+tail truncation of long prompts."""

from __future__ import annotations

import time

import pytest

pytest.importorskip("tokenizers")

from llmswitch.inference.export import default_source_dir  # noqa: E402
from llmswitch.inference.tokenizer import HEAD_FRACTION, PromptTokenizer, head_tail  # noqa: E402

CLS, SEP = 101, 102


@pytest.fixture(scope="module")
def tokenizer() -> PromptTokenizer:
    return PromptTokenizer(default_source_dir() / "tokenizer.json", max_length=32)


def test_head_tail_keeps_a_quarter_head_and_the_rest_tail():
    ids = list(range(100))
    kept = head_tail(ids, 20)
    assert kept == list(range(5)) + list(range(85, 100))
    assert head_tail(ids[:10], 20) == ids[:10]
    assert HEAD_FRACTION == 0.25


def test_batch_is_right_padded_with_mask(tokenizer):
    batch = tokenizer(["hello", "a somewhat longer sentence about physics"])
    assert batch.input_ids.shape == batch.attention_mask.shape
    assert batch.input_ids.dtype.name == "int64"
    short, long = batch.attention_mask.sum(axis=1)
    assert short == 3  # [CLS] hello [SEP]
    assert long == batch.input_ids.shape[1]
    assert batch.input_ids[0, 0] == CLS and batch.input_ids[0, 2] == SEP
    assert (batch.input_ids[0, 3:] == 0).all() and (batch.attention_mask[0, 3:] == 0).all()


def test_empty_prompt_is_just_special_tokens(tokenizer):
    assert tokenizer.token_ids([""]) == [[CLS, SEP]]


def test_long_prompt_keeps_head_and_tail(tokenizer):
    words = [f"w{i}" for i in range(500)]
    text = "start here " + " ".join(words) + " final question"
    (ids,) = tokenizer.token_ids([text])
    assert len(ids) == 32
    assert ids[0] == CLS and ids[-1] == SEP
    full = tokenizer.token_ids(["start here"])[0][1:-1]
    tail = tokenizer.token_ids(["final question"])[0][1:-1]
    budget = 30
    assert ids[1 : 1 + len(full)] == full
    assert ids[-1 - len(tail) : -1] == tail
    assert len(ids[1:-1]) == budget


def test_huge_prompt_is_cut_quickly_without_error(tokenizer):
    text = "lorem ipsum dolor " * 200_000  # ~3.6 MB
    start = time.perf_counter()
    batch = tokenizer([text, "short"])
    assert time.perf_counter() - start < 1.0
    assert batch.input_ids.shape == (2, 32)

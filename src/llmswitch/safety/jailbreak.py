"""Jailbreak and prompt-injection detection: a trained head on the encoder, and phrase rules.

The head (`data/jailbreak_head.npz`, trained by `llmswitch.training.jailbreak`) reads the same
features as the domain head, from the same encoder pass, and gives P(jailbreak) for the prompt the
encoder reads (the latest user turn). The rules are a short list of phrases that instruction
overrides, persona jailbreaks and prompt-extraction attempts use; they are cheap and also scan tool
results and earlier turns, which the encoder does not read. See docs/safety.md for how each scores.
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path

SHIPPED_HEAD = "jailbreak_head.npz"
LABELS = ("benign", "jailbreak")

# (trigger words, pattern): a pattern runs only when one of its lower-case trigger words occurs in the
# text (substring checks cost far less than a regex scan). Every pattern is a fixed sequence of bounded
# parts (no nested or unbounded repetition around alternatives), so matching stays linear in the text.
_GAP = r"(?:[\s,.:;'\"()*-]+\w+){0,3}?[\s,.:;'\"()*-]+"  # up to three filler words between key words
_RULES: list[tuple[tuple[str, ...], str]] = [
    # "ignore all previous instructions", "disregard the rules above", "forget your guidelines"
    (
        ("ignore", "disregard", "forget", "override", "bypass", "skip"),
        rf"\b(?:ignore|disregard|forget|override|bypass|skip)\b{_GAP}"
        r"(?:instructions?|rules|guidelines|directives|prompts?|programming|restrictions|constraints|policies)\b",
    ),
    # persona jailbreaks
    (("do anything now",), r"\bdo anything now\b"),
    ((" mode",), r"\b(?:developer|jailbreak|god|unrestricted|unfiltered|evil) mode\b"),
    (("jailbr",), r"\bjailbr(?:oken|eak(?:ed|ing)?)\b"),
    (
        ("ethical", "moral", "openai", "content", "safety"),
        rf"\b(?:no|without|free (?:of|from)|not bound by|ignor\w*|break\w* (?:free )?of)\b{_GAP}"
        r"(?:ethical|moral|openai|content|safety)\b[\s-]*(?:\w+[\s-]+){0,2}?(?:guidelines|rules|restrictions|"
        r"constraints|filters?|polic(?:y|ies)|limitations|boundaries|principles|considerations|confines)\b",
    ),
    (("character",), r"\b(?:stay|remain|staying) in character\b"),
    (
        ("amoral", "unethical", "uncensored", "unfiltered"),
        r"\b(?:amoral|unethical|uncensored|unfiltered)\b[\s,]+(?:and\s+)?(?:\w+\s+){0,2}?"
        r"(?:ai|chatbot|assistant|model|character)\b",
    ),
    (("never refuse",), r"\bnever refuses?\b"),
    # prompt extraction
    (
        ("prompt", "instruction", "message"),
        rf"\b(?:show|print|reveal|repeat|output|display|tell|give|spell[- ]check)\b{_GAP}"
        r"(?:system|initial|original|hidden|secret|previous|starting|first)\s+(?:prompt|instructions?|message)\b",
    ),
    # injected instructions in tool output
    (
        ("important",),
        r"\bimportant (?:message|instructions?)\b[\s\S]{0,120}?\bbefore you (?:can )?(?:solve|do|continue)\b",
    ),
    (("system",), r"#{2,}\s*\(?\s*system[_ ](?:message|prompt)\b"),
    (("new instruction",), r"\bnew instructions?\s*:"),
]
_PATTERNS = [(hints, re.compile(pattern, re.IGNORECASE)) for hints, pattern in _RULES]


def rule_match(text: str) -> bool:
    """True when `text` holds a jailbreak or prompt-injection phrase."""
    lowered = text.lower()
    return any(
        any(hint in lowered for hint in hints) and pattern.search(text) is not None for hints, pattern in _PATTERNS
    )


def shipped_head_path() -> Path:
    return Path(str(files("llmswitch") / "data" / SHIPPED_HEAD))

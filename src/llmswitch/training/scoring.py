"""Answer scoring for profiling: each metric maps (response, ground truth) to a score in [0, 1].

- `em_mc`: multiple choice; the answer letter found in the response equals the ground truth's
  letter (a letter, or an option text looked up in `choices`).
- `gsm8k`: the last number in the response equals the ground truth number.
- `math`: the last `\\boxed{...}` (else the last number) equals the ground truth, after normalising.
- `f1`: token-level F1 between normalised response and ground truth (SQuAD style).
- `cem` (default): the normalised ground truth is contained in the normalised response.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Callable, Sequence

METRICS = ("em_mc", "gsm8k", "math", "f1", "cem")
LETTERS = "ABCDEFGHIJ"
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_LETTER_PATTERNS = (
    re.compile(r"answer\s*(?:is|:)?\s*\(?([A-J])\)?\b", re.IGNORECASE),
    re.compile(r"^\s*\(?([A-J])\)?(?:[.):]|\s|$)"),
    re.compile(r"\b([A-J])\b"),
)


def normalize(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    return " ".join(w for w in text.split() if w not in ("a", "an", "the"))


def answer_letter(response: str) -> str | None:
    for pattern in _LETTER_PATTERNS:
        match = pattern.search(response)
        if match:
            return match.group(1).upper()
    return None


def expected_letter(ground_truth: str, choices: Sequence[str]) -> str:
    truth = ground_truth.strip()
    if len(truth) == 1 and truth.upper() in LETTERS:
        return truth.upper()
    for index, choice in enumerate(choices):
        if normalize(choice) == normalize(truth):
            return LETTERS[index]
    return truth.upper()


def em_mc(response: str, ground_truth: str, choices: Sequence[str] = ()) -> float:
    return float(answer_letter(response) == expected_letter(ground_truth, choices))


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ""))
    except ValueError:
        return None


def gsm8k(response: str, ground_truth: str, choices: Sequence[str] = ()) -> float:
    numbers = _NUMBER.findall(response)
    truth = _number(ground_truth.strip())
    return float(bool(numbers) and truth is not None and _number(numbers[-1]) == truth)


def _boxed(text: str) -> str | None:
    start = text.rfind("\\boxed{")
    if start < 0:
        return None
    depth, i = 1, start + len("\\boxed{")
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None


def _math_norm(text: str) -> str:
    text = text.replace("$", "").replace("\\left", "").replace("\\right", "").replace(" ", "")
    text = re.sub(r"\\text\{(.*?)\}", r"\1", text)
    return text.rstrip(".").replace("\\dfrac", "\\frac")


def math(response: str, ground_truth: str, choices: Sequence[str] = ()) -> float:
    answer = _boxed(response)
    if answer is None:
        numbers = _NUMBER.findall(response)
        answer = numbers[-1] if numbers else ""
    a, b = _math_norm(answer), _math_norm(_boxed(ground_truth) or ground_truth)
    if a == b:
        return 1.0
    na, nb = _number(a), _number(b)
    return float(na is not None and na == nb)


def f1(response: str, ground_truth: str, choices: Sequence[str] = ()) -> float:
    predicted, truth = normalize(response).split(), normalize(ground_truth).split()
    common = sum((Counter(predicted) & Counter(truth)).values())
    if not predicted or not truth or common == 0:
        return float(predicted == truth)
    precision, recall = common / len(predicted), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def cem(response: str, ground_truth: str, choices: Sequence[str] = ()) -> float:
    truth = normalize(ground_truth)
    return float(bool(truth) and truth in normalize(response))


SCORERS: dict[str, Callable[[str, str, Sequence[str]], float]] = {
    "em_mc": em_mc, "gsm8k": gsm8k, "math": math, "f1": f1, "cem": cem,
}


def score(metric: str | None, response: str, ground_truth: str, choices: Sequence[str] = ()) -> float:
    """Score with `metric` (default `cem`); raises ValueError for an unknown metric."""
    name = metric or "cem"
    if name not in SCORERS:
        raise ValueError(f"unknown metric {name!r}; expected one of {METRICS}")
    return SCORERS[name](response, ground_truth, choices)

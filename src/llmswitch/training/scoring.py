"""Answer scoring for profiling: each metric maps (response, ground truth) to a score in [0, 1].

Metric names are accepted in llmswitch's and in vLLM Semantic Router's spelling, in any case:

- `em_mc`: multiple choice; the answer letter found in the response equals the ground truth's
  letter (a letter, or an option text looked up in `choices`).
- `gsm8k` (`GSM8K`): the number after the response's last `####`, else its last number, equals
  the ground truth's number; a ground truth `explanation #### 42` means 42.
- `math` (`MATH`): the last `\\boxed{...}` (else the last number) equals the ground truth, after
  normalising LaTeX; numbers and simple fractions compare with the tolerance.
- `f1` (`f1_score`): token-level F1 between normalised response and ground truth (SQuAD style).
- `code_eval`: the response's code passes the ground truth's tests (a list of assertions), run
  in a sandboxed subprocess; the score is the share of tests passed (see `code_eval.py`).
- `commongen_coverage`: the share of the ground truth's comma-separated words in the response.
- `cem` (default): the normalised ground truth is contained in the normalised response.

For every metric a response equal to the ground truth (ignoring case and surrounding space)
scores 1, and a query without ground truth scores 0.5 for every model, as the peer scores it.
Numbers compare with a relative tolerance (`NUMERIC_TOLERANCE`, or the query's `tolerance`).
"""

from __future__ import annotations

import math as _math
import re
import string
from collections import Counter
from collections.abc import Callable, Sequence
from fractions import Fraction

METRICS = ("em_mc", "gsm8k", "math", "f1", "code_eval", "commongen_coverage", "cem")
ALIASES = {"f1_score": "f1", "mc": "em_mc", "multiple_choice": "em_mc", "commongen": "commongen_coverage",
           "code": "code_eval"}
NO_GROUND_TRUTH_SCORE = 0.5
NUMERIC_TOLERANCE = 1e-4
"""Relative tolerance of numeric comparisons (plus an absolute 1e-9 around zero)."""
LETTERS = "ABCDEFGHIJ"
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?(?:\s*/\s*\d+)?|-?\.\d+")
_LETTER_PATTERNS = (
    re.compile(r"answer\s*(?:is|:)?\s*\(?([A-J])\)?\b", re.IGNORECASE),
    re.compile(r"^\s*\(?([A-J])\)?(?:[.):]|\s|$)"),
    re.compile(r"\b([A-J])\b"),
)
_OPTION_MARK = re.compile(r"(?:^|(?<=\s))\(?([A-J])[).:]\s+")


def canonical_metric(metric: str | None) -> str:
    """The metric's canonical name (`cem` when None); raises ValueError for an unknown one."""
    name = (metric or "cem").strip().lower()
    name = ALIASES.get(name, name)
    if name not in METRICS:
        raise ValueError(f"unknown metric {metric!r}; expected one of {METRICS} (or {sorted(ALIASES)})")
    return name


def parse_choices(value: object) -> tuple[str, ...]:
    """Options from a list, or from a string: "A) x B) y", one per line, or comma-separated."""
    if value is None or value == "":
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(v).strip() for v in value)
    text = str(value).strip()
    marks = list(_OPTION_MARK.finditer(text))
    if len(marks) >= 2 and [m.group(1) for m in marks] == list(LETTERS[: len(marks)]):
        ends = [m.start() for m in marks[1:]] + [len(text)]
        return tuple(text[m.end() : end].strip() for m, end in zip(marks, ends, strict=True))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if len(lines) >= 2:
        return tuple(lines)
    return tuple(part.strip() for part in text.split(","))


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


def em_mc(
    response: str, ground_truth: str, choices: Sequence[str] = (), tolerance: float = NUMERIC_TOLERANCE
) -> float:
    return float(answer_letter(response) == expected_letter(ground_truth, choices))


def to_number(text: str) -> float | None:
    """A number from "1,250", "$3.5", "40%", "-2", "3/4" or "\\frac{3}{4}"; None otherwise."""
    cleaned = text.strip().replace(",", "").replace("$", "").replace("\\%", "").rstrip("%").rstrip(".").strip()
    frac = re.fullmatch(r"\\[dt]?frac\{(-?\d+)\}\{(-?\d+)\}|(-?\d+)\s*/\s*(-?\d+)", cleaned)
    if frac:
        top, bottom = (int(g) for g in frac.groups() if g is not None)
        return float(Fraction(top, bottom)) if bottom else None
    try:
        return float(cleaned)
    except ValueError:
        return None


def numbers_equal(a: float | None, b: float | None, tolerance: float = NUMERIC_TOLERANCE) -> bool:
    return a is not None and b is not None and _math.isclose(a, b, rel_tol=tolerance, abs_tol=1e-9)


def final_answer(text: str) -> str:
    """What follows the last `####` (GSM8K's answer mark), or the whole text."""
    return text.rsplit("####", 1)[-1].strip() if "####" in text else text


def gsm8k(
    response: str, ground_truth: str, choices: Sequence[str] = (), tolerance: float = NUMERIC_TOLERANCE
) -> float:
    numbers = _NUMBER.findall(final_answer(response))
    truth = final_answer(ground_truth)
    truth_numbers = _NUMBER.findall(truth)
    expected = to_number(truth) if to_number(truth) is not None else (
        to_number(truth_numbers[-1]) if truth_numbers else None)
    return float(bool(numbers) and numbers_equal(to_number(numbers[-1]), expected, tolerance))


def _boxed(text: str) -> str | None:
    start = max(text.rfind("\\boxed{"), text.rfind("\\fbox{"))
    if start < 0:
        return None
    depth, i = 1, text.index("{", start) + 1
    for j in range(i, len(text)):
        depth += {"{": 1, "}": -1}.get(text[j], 0)
        if depth == 0:
            return text[i:j]
    return None


def _math_norm(text: str) -> str:
    text = text.replace("$", "").replace("\\left", "").replace("\\right", "").replace("\\!", "").replace(" ", "")
    text = text.replace("^{\\circ}", "").replace("^\\circ", "").replace("\\%", "")
    text = re.sub(r"\\text\{(.*?)\}", r"\1", text)
    if re.fullmatch(r"[a-zA-Z]{1,2}=.+", text):  # "x=3" -> "3"
        text = text.split("=", 1)[1]
    return text.rstrip(".").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")


def math(
    response: str, ground_truth: str, choices: Sequence[str] = (), tolerance: float = NUMERIC_TOLERANCE
) -> float:
    answer = _boxed(response)
    if answer is None:
        numbers = _NUMBER.findall(response)
        answer = numbers[-1] if numbers else ""
    a, b = _math_norm(answer), _math_norm(_boxed(ground_truth) or ground_truth)
    if a == b:
        return 1.0
    return float(numbers_equal(to_number(a), to_number(b), tolerance))


def f1(
    response: str, ground_truth: str, choices: Sequence[str] = (), tolerance: float = NUMERIC_TOLERANCE
) -> float:
    predicted, truth = normalize(response).split(), normalize(ground_truth).split()
    common = sum((Counter(predicted) & Counter(truth)).values())
    if not predicted or not truth or common == 0:
        return float(predicted == truth)
    precision, recall = common / len(predicted), common / len(truth)
    return 2 * precision * recall / (precision + recall)


def commongen_coverage(
    response: str, ground_truth: str, choices: Sequence[str] = (), tolerance: float = NUMERIC_TOLERANCE
) -> float:
    words = {w.strip().lower() for w in ground_truth.split(",") if w.strip()}
    return sum(w in response.lower() for w in words) / len(words) if words else 0.0


def cem(
    response: str, ground_truth: str, choices: Sequence[str] = (), tolerance: float = NUMERIC_TOLERANCE
) -> float:
    truth = normalize(ground_truth)
    return float(bool(truth) and truth in normalize(response))


def code_eval(
    response: str, ground_truth: str, choices: Sequence[str] = (), tolerance: float = NUMERIC_TOLERANCE
) -> float:
    from llmswitch.training.code_eval import run_tests

    return run_tests(response, ground_truth)


SCORERS: dict[str, Callable[[str, str, Sequence[str], float], float]] = {
    "em_mc": em_mc, "gsm8k": gsm8k, "math": math, "f1": f1, "code_eval": code_eval,
    "commongen_coverage": commongen_coverage, "cem": cem,
}


def score(
    metric: str | None, response: str, ground_truth: str, choices: Sequence[str] = (),
    tolerance: float = NUMERIC_TOLERANCE,
) -> float:
    """Score with `metric` (default `cem`); raises ValueError for an unknown metric."""
    name = canonical_metric(metric)
    if not ground_truth.strip():
        return NO_GROUND_TRUTH_SCORE
    if response.strip().lower() == ground_truth.strip().lower():
        return 1.0
    return SCORERS[name](response, ground_truth, choices, tolerance)

"""PII detection: find e-mail addresses, phone numbers, card numbers, IBANs, national IDs, IP
addresses and secrets in text, as typed spans with a score.

Each entity type is one or more regular expressions plus a validator (Luhn, ISO 7064, national check
digits, `ipaddress`); a candidate that fails its check is dropped. Patterns use only bounded or
possessive repetition, so a scan is linear in the text's length (tests run them on crafted input).
Overlapping candidates keep the one with the higher score, then the longer one. Person names are not
detected: see docs/safety.md.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass

from llmswitch.safety import checksums

PII_TYPES = ("email", "phone", "credit_card", "iban", "national_id", "ip_address", "secret")


@dataclass(frozen=True, slots=True)
class PiiSpan:
    """One detected entity: `text[start:end]` is the value; `detail` names the scheme (never the value)."""

    type: str
    start: int
    end: int
    score: float
    detail: str = ""


# A validator gets the match and the whole text and returns a score, or None to drop the candidate.
Validator = Callable[[re.Match[str], str], float | None]


DIGITS = tuple("0123456789")


@dataclass(frozen=True)
class Detector:
    type: str
    detail: str
    pattern: re.Pattern[str]
    validate: Validator
    group: int = 0  # the regex group that is the entity
    hints: tuple[str, ...] = DIGITS  # the pattern runs only on a text holding one of these

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        if any(hint in text for hint in self.hints):  # substring checks: far cheaper than a regex scan
            yield from self.pattern.finditer(text)


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


def _always(score: float) -> Validator:
    return lambda match, text: score


_CONTEXT_WINDOW = 40
_PHONE_CONTEXT = re.compile(
    r"\b(?:(?:tele)?phone|tel|mobile|cell|call|fax|whats\s?app|sms|text me|contact|number|reach|téléphone|"
    r"telefon\w*|teléfono|móvil|cellulare|handy|nummer|numéro|numero|celular)\b",
    re.IGNORECASE,
)
_ID_CONTEXT = re.compile(
    r"\b(?:ssn|id|sin|bsn|nino|cpf|pesel|dni|nie|social security|national|insurance|tax|fiscal|aadhaar)\b", re.IGNORECASE
)


def _has_context(pattern: re.Pattern[str], match: re.Match[str], text: str) -> bool:
    return pattern.search(text, max(0, match.start() - _CONTEXT_WINDOW), match.start()) is not None


_YEAR_RANGE = re.compile(r"(?:1[0-9]|20)\d\d\s?[-/]\s?(?:1[0-9]|20)\d\d")
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{2,4}")


def _phone(match: re.Match[str], text: str) -> float | None:
    value = match.group(0)
    number = re.split(r"\s?(?:x|ext\.?)\s?\d", value, maxsplit=1)[0]
    digits = _digits(number)
    if not 7 <= len(digits) <= 15 or _DATE.fullmatch(number):
        return None
    separators = re.findall(r"[ .\-/()]+", number.strip("+()"))
    groups = re.findall(r"\d+", number)
    if separators == ["."]:
        return None  # a decimal number
    if _YEAR_RANGE.fullmatch(number) or (len(groups) > 2 and max(map(len, groups)) <= 2 and len(digits) < 9):
        return None  # "1914-1918", "10 20 30 40"
    context = _has_context(_PHONE_CONTEXT, match, text)
    if number.startswith("+") or (number.startswith("00") and len(digits) >= 10):
        score = 0.85
    elif "(" in number or len(separators) >= 2:
        score = 0.8
    elif separators:
        score = 0.6
    elif number.startswith("0") and 10 <= len(digits) <= 11:
        score = 0.5  # a national number with its trunk prefix
    else:
        score = 0.4  # any other bare run of digits: only with context is it likely a phone number
    # Below the checksum-validated identifiers (0.9+), which win an overlap with a phone-shaped number.
    return max(score, 0.85) if context else score


def _credit_card(match: re.Match[str], text: str) -> float | None:
    digits = _digits(match.group(0))
    maestro = re.match(r"5[06-9]|6", digits)
    if not (13 if not maestro else 12) <= len(digits) <= 19 or not checksums.luhn(digits):
        return None
    known_issuer = re.match(r"4|5[1-5]|2[2-7]|3[47]|3[0689]|6(?:011|5|4[4-9]|2)|35|2131|1800|5[06-9]", digits)
    return 1.0 if known_issuer else 0.6


def _iban(match: re.Match[str], text: str) -> float | None:
    return 1.0 if checksums.iban(match.group(0).replace(" ", "").upper()) else None


def _checked(check: Callable[[str], bool], score: float, transform: Callable[[str], str] = _digits) -> Validator:
    def validate(match: re.Match[str], text: str) -> float | None:
        if not check(transform(match.group(0))):
            return None
        return max(score, 0.9) if _has_context(_ID_CONTEXT, match, text) else score

    return validate


def _compact_upper(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def _ip(match: re.Match[str], text: str) -> float | None:
    try:
        ipaddress.ip_address(match.group(0))
    except ValueError:
        return None
    return 0.9


def _entropy(value: str) -> float:
    counts = Counter(value)
    return -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())


def _assigned_secret(match: re.Match[str], text: str) -> float | None:
    """`password = ...`, `api_key: ...`: a value with mixed character classes or high entropy."""
    value = match.group(1)
    classes = sum(bool(re.search(p, value)) for p in (r"[a-z]", r"[A-Z]", r"\d", r"[^A-Za-z0-9]"))
    if len(value) >= 8 and (classes >= 3 or _entropy(value) >= 3.5):
        return 0.9
    return None


def _c(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


DETECTORS: tuple[Detector, ...] = (
    Detector("email", "email", _c(r"(?<![\w.%+-])[\w.%+-]{1,64}+@(?:[A-Za-z0-9-]{1,63}+\.){1,8}+[A-Za-z]{2,24}+\b"),
             _always(1.0), hints=("@",)),
    Detector("phone", "phone", _c(
        r"(?<![\w+.\-/])\+?(?:\(\d{1,5}+\)[\s.\-]?)?\d{1,15}+"
        r"(?:(?:[ .\-/]|\s?\(|\)\s?)\d{1,15}+){0,6}+(?:\s?(?:x|ext\.?)\s?\d{1,6}+)?(?![\w\-/])"
    ), _phone),
    Detector("credit_card", "card", _c(r"(?<![\d\-])\d{4}+(?:[ \-]?\d{2,6}+){2,5}+(?![\d\-])"), _credit_card),
    Detector("iban", "iban", _c(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{1,4}+){3,8}+\b"), _iban),
    Detector("national_id", "us_ssn", _c(r"(?<![\d\-])(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}(?![\d\-])"),
             _always(0.9)),
    Detector("national_id", "uk_nino", _c(r"\b[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z] ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b"),
             _always(0.9)),
    Detector("national_id", "ca_sin", _c(r"(?<![\d\-])\d{3}[ \-]\d{3}[ \-]\d{3}(?![\d\-])"),
             _checked(checksums.luhn, 0.82)),
    Detector("national_id", "es_dni", _c(r"\b(?:\d{8}|[XYZ]\d{7})-?[A-Z]\b"),
             _checked(checksums.es_dni, 1.0, _compact_upper)),
    Detector("national_id", "it_fiscal_code", _c(r"\b[A-Z]{6}\d{2}[A-EHLMPR-T]\d{2}[A-Z]\d{3}[A-Z]\b"),
             _checked(checksums.it_fiscal_code, 1.0, str)),
    Detector("national_id", "fr_nir", _c(r"(?<!\d)[12] ?\d{2} ?\d{2} ?(?:\d{2}|2[AB]) ?\d{3} ?\d{3} ?\d{2}(?!\d)"),
             _checked(checksums.fr_nir, 1.0, _compact_upper)),
    Detector("national_id", "nl_bsn", _c(r"(?<![\d\-.])\d{9}(?![\d\-.])"), _checked(checksums.nl_bsn, 0.5)),
    Detector("national_id", "br_cpf", _c(r"(?<![\d.\-])\d{3}\.?\d{3}\.?\d{3}-?\d{2}(?![\d.\-])"),
             _checked(checksums.br_cpf, 0.9)),
    Detector("national_id", "pl_pesel", _c(r"(?<![\d\-.])\d{11}(?![\d\-.])"), _checked(checksums.pl_pesel, 0.6)),
    Detector("national_id", "in_aadhaar", _c(r"(?<![\d\-])[2-9]\d{3} ?\d{4} ?\d{4}(?![\d\-])"),
             _checked(checksums.verhoeff, 0.9)),
    Detector("ip_address", "ipv4", _c(r"(?<![\d.])(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?![\d.])"),
             _always(0.9)),
    Detector("ip_address", "ipv6", _c(r"(?<![\w:])(?=[0-9A-Fa-f:]{0,37}::|(?:[0-9A-Fa-f]{1,4}:){7})[0-9A-Fa-f:]{3,39}+(?![\w:])"),
             _ip, hints=(":",)),
    Detector("secret", "aws_access_key", _c(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"), _always(1.0),
             hints=("AKIA", "ASIA", "ABIA", "ACCA")),
    Detector("secret", "github_token", _c(r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}+|github_pat_\w{60,255}+)\b"), _always(1.0),
             hints=("gh", "github_pat_")),
    Detector("secret", "gitlab_token", _c(r"\bglpat-[\w-]{20,}+"), _always(1.0), hints=("glpat-",)),
    Detector("secret", "slack_token", _c(r"\bxox[abposr]-[A-Za-z0-9-]{10,250}+"), _always(1.0), hints=("xox",)),
    Detector("secret", "stripe_key", _c(r"\b[sr]k_(?:live|test)_[A-Za-z0-9]{16,247}+\b"), _always(1.0),
             hints=("k_live_", "k_test_")),
    Detector("secret", "anthropic_key", _c(r"\bsk-ant-[\w-]{32,}+"), _always(1.0), hints=("sk-ant-",)),
    Detector("secret", "openai_key", _c(r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-)?[\w-]{32,}+"), _always(1.0),
             hints=("sk-",)),
    Detector("secret", "google_api_key", _c(r"\bAIza[\w-]{35}(?![\w-])"), _always(1.0), hints=("AIza",)),
    Detector("secret", "jwt", _c(r"\beyJ[\w-]{8,}+\.eyJ[\w-]{8,}+\.[\w-]{8,}+"), _always(1.0), hints=("eyJ",)),
    Detector("secret", "private_key", _c(
        r"-----BEGIN (?:[A-Z]{1,10} ){0,3}PRIVATE KEY-----[A-Za-z0-9+/=\s:,\\-]{0,16384}+"
        r"(?:-----END (?:[A-Z]{1,10} ){0,3}PRIVATE KEY-----)?"
    ), _always(1.0), hints=("PRIVATE KEY-----",)),
    Detector("secret", "bearer_token", _c(r"\b[Bb]earer\s+([\w\-.~+/]{20,}+=*)"), _always(0.9), group=1,
             hints=("earer",)),
    Detector("secret", "assigned_secret", _c(
        r"(?i)\b(?:api[_-]?key|apikey|secret(?:[_-]?key)?|access[_-]?key|auth[_-]?token|access[_-]?token|token|"
        r"password|passwd|pwd|client[_-]?secret)\b[\"']?\s{0,3}+[:=]\s{0,3}+[\"']?([^\s\"',;]{8,200}+)"
    ), _assigned_secret, group=1, hints=(":", "=")),
)  # fmt: skip
_DETECTORS_BY_TYPE = {t: tuple(d for d in DETECTORS if d.type == t) for t in PII_TYPES}
# Which national ID schemes exist (for configuration and docs).
NATIONAL_ID_SCHEMES = tuple(d.detail for d in _DETECTORS_BY_TYPE["national_id"])


_DIGIT_RUN = re.compile(r"\d+")
_DIGIT_CONTEXT = 64
"""Characters kept each side of a digit run for the detectors that need a digit: more than any such
entity spans beyond its digits, so a window's edges are never inside one."""


def _digit_windows(text: str) -> list[tuple[int, int]]:
    """The parts of `text` within `_DIGIT_CONTEXT` characters of a digit, merged: a digit-bound detector
    scans these instead of the whole text (prose holds few numbers)."""
    windows: list[tuple[int, int]] = []
    for run in _DIGIT_RUN.finditer(text):
        start, end = max(0, run.start() - _DIGIT_CONTEXT), min(len(text), run.end() + _DIGIT_CONTEXT)
        if windows and start <= windows[-1][1]:
            windows[-1] = (windows[-1][0], end)
        else:
            windows.append((start, end))
    return windows


def _matches(detector: Detector, text: str, digit_windows: list[tuple[int, int]]) -> Iterator[re.Match[str]]:
    if detector.hints != DIGITS:
        yield from detector.finditer(text)
        return
    # pos/endpos, unlike slicing, keep the offsets and let look-behinds see the text before a window.
    for start, end in digit_windows:
        yield from detector.pattern.finditer(text, start, end)


def _candidates(text: str, detectors: Iterable[Detector], min_score: float) -> list[PiiSpan]:
    spans = []
    digit_windows = _digit_windows(text)
    for detector in detectors:
        for match in _matches(detector, text, digit_windows):
            score = detector.validate(match, text)
            if score is not None and score >= min_score:
                start, end = match.span(detector.group)
                spans.append(PiiSpan(detector.type, start, end, score, detector.detail))
    return spans


def find_pii(text: str, types: Collection[str] = PII_TYPES, min_score: float = 0.5) -> list[PiiSpan]:
    """Non-overlapping spans of the given entity types in `text`, in order of position.

    `min_score` drops weak candidates (a bare run of digits without a word like "phone" before it
    scores 0.4; checksum-validated identifiers score 0.8-1.0).
    """
    unknown = set(types) - set(PII_TYPES)
    if unknown:
        raise ValueError(f"unknown PII types {sorted(unknown)}; known: {', '.join(PII_TYPES)}")
    candidates = _candidates(text, (d for t in types for d in _DETECTORS_BY_TYPE[t]), min_score)
    candidates.sort(key=lambda s: (-s.score, -(s.end - s.start), s.start))
    taken = bytearray(len(text))  # 1 where a chosen span lies: overlap checks cost the span's length
    chosen: list[PiiSpan] = []
    for span in candidates:
        if taken.find(1, span.start, span.end) == -1:
            taken[span.start : span.end] = b"\x01" * (span.end - span.start)
            chosen.append(span)
    return sorted(chosen, key=lambda s: s.start)


def redact_text(text: str, spans: Iterable[PiiSpan], placeholder: str = "[{TYPE}]") -> str:
    """`text` with every span replaced by `placeholder` (`{type}` / `{TYPE}` name the entity type)."""
    parts, last = [], 0
    for span in sorted(spans, key=lambda s: s.start):
        parts.append(text[last : span.start])
        parts.append(placeholder.replace("{type}", span.type).replace("{TYPE}", span.type.upper()))
        last = span.end
    parts.append(text[last:])
    return "".join(parts)

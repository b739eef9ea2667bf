"""`language` signal: the prompt's natural language, detected offline with lingua.

One detector serves every language signal of a config. It knows the languages the config
names plus a fixed contrast set of languages common in LLM traffic: lingua only chooses
among the languages it was built with, so a detector built for Spanish alone would call
every prompt Spanish; with too many languages, short prompts spread their confidence
over close relatives. Models are preloaded when the config is built, so no request pays
for loading them; each request runs one detection (tens to hundreds of microseconds),
shared by all language signals.
"""

from __future__ import annotations

from collections.abc import Iterable

from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

from llmswitch.config.signals import LanguageSignal
from llmswitch.request import RouteRequest
from llmswitch.signals.base import SignalResult

CONTRAST_LANGUAGES = ("en", "zh", "es", "fr", "de", "pt", "it", "ru", "ja", "ko", "ar", "hi")
# Detection looks at the start of the last user message only: enough to tell the language,
# and it bounds the per-request cost of a huge prompt.
MAX_CHARS = 1000
_MEMO_KEY = "language"


def _language(code: str) -> Language:
    return Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper()))


class LanguageDetector:
    """Detection over the configured languages plus the contrast set, once per request."""

    def __init__(self, codes: Iterable[str]) -> None:
        languages = {_language(c) for c in (*CONTRAST_LANGUAGES, *codes)}
        self._detector = LanguageDetectorBuilder.from_languages(*languages).with_preloaded_language_models().build()

    def confidences(self, request: RouteRequest) -> dict[str, float]:
        """ISO 639-1 code -> confidence (summing to 1, or all 0 for text without a language)."""
        memo = request.memo.get(_MEMO_KEY)
        if memo is None:
            values = self._detector.compute_language_confidence_values(request.last_user_text[:MAX_CHARS])
            memo = request.memo[_MEMO_KEY] = {v.language.iso_code_639_1.name.lower(): v.value for v in values}
        return memo  # type: ignore[return-value]


class LanguageMatcher:
    type = "language"

    def __init__(self, spec: LanguageSignal, detector: LanguageDetector) -> None:
        self.name = spec.name
        self._codes = frozenset(spec.languages)
        self._min_confidence = spec.min_confidence
        self._detector = detector

    def evaluate(self, request: RouteRequest) -> SignalResult:
        confidences = self._detector.confidences(request)
        confidence = sum(confidences.get(c, 0.0) for c in self._codes)
        top = max(confidences, key=confidences.__getitem__, default=None)
        detected = top is not None and confidences[top] > 0 and top in self._codes
        return SignalResult(detected and confidence >= self._min_confidence, confidence)

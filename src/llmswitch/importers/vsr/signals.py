"""Signals: one converter per vLLM Semantic Router signal family that llmswitch has, a reason for each it lacks.

`FAMILIES` is the table: a family llmswitch gains later is mapped by adding a converter here. A converter turns one source rule into llmswitch signals, keyed by the name the
source's conditions use; each is validated by llmswitch's own schema before it is kept.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from llmswitch.config.signals import (
    COMPLEXITY_LEVELS,
    LANGUAGE_CODES,
    ComplexitySignal,
    ContextSignal,
    DomainSignal,
    EmbeddingSignal,
    JailbreakSignal,
    KeywordSignal,
    LanguageSignal,
    PiiSignal,
)
from llmswitch.importers.report import ImportReport, Names
from llmswitch.importers.vsr.layout import At
from llmswitch.importers.vsr.safety import jailbreak_signal, pii_signal
from llmswitch.training.mmlu_categories import CATEGORIES


@dataclass(frozen=True)
class Converted:
    """llmswitch signals for one source rule: {name the source's conditions use: signal fields}."""

    signals: dict[str, dict]
    negate: bool = False
    """The source rule matches when the llmswitch signal does not (keyword NOR)."""


Convert = Callable[[dict, str, ImportReport], Converted | None]


@dataclass(frozen=True)
class Family:
    condition: str
    """The condition `type` that tests this family."""
    section: str | None = None
    """The llmswitch `signals:` section; None: not mapped."""
    convert: Convert | None = None
    model: type[BaseModel] | None = None
    reason: str = ""


@dataclass(frozen=True)
class SignalRef:
    type: str
    name: str
    negate: bool = False


REGEX_CHARS = re.compile(r"[\\^$*+?()\[\]{}|]")
KEYWORD_OPERATORS = {"OR": ("any", False), "AND": ("all", False), "NOR": ("any", True)}


def _keyword(rule: dict, path: str, report: ImportReport) -> Converted | None:
    method = rule.get("method", "regex")
    if method not in ("regex", "exact", None):
        report.not_mapped(path, f"method {method!r}: llmswitch keyword signals match literal text only")
        return None
    operator, negate = KEYWORD_OPERATORS.get(str(rule.get("operator", "OR")).upper(), (None, False))
    if operator is None:
        report.not_mapped(f"{path}.operator", f"{rule['operator']!r}: expected OR, AND or NOR")
        return None
    keywords = [str(k) for k in rule.get("keywords") or []]
    patterns = [k for k in keywords if REGEX_CHARS.search(k)]
    if patterns:
        report.change(f"{path}.keywords", f"{patterns} are matched as literal text, not as regular expressions")
    if negate:
        report.change(f"{path}.operator", "NOR becomes an `any` keyword signal tested under NOT in each rule")
    report.extra_keys(rule, path, ("name", "description", "method", "operator", "keywords", "case_sensitive"))
    return Converted(
        {
            str(rule["name"]): {
                "keywords": keywords,
                "case_sensitive": bool(rule.get("case_sensitive")),
                "operator": operator,
            }
        },
        negate,
    )


def _embedding(rule: dict, path: str, report: ImportReport) -> Converted | None:
    modality = rule.get("query_modality", "text")
    if modality != "text":
        report.not_mapped(path, f"query_modality {modality!r}: llmswitch embeds request text only")
        return None
    if rule.get("negative_candidates") or rule.get("negative_image_candidates"):
        report.not_mapped(path, "negative candidates: llmswitch has no subtracted examples")
        return None
    signal: dict[str, Any] = {"candidates": [str(c) for c in rule.get("candidates") or []]}
    if "threshold" in rule:
        signal["threshold"] = rule["threshold"]
    if "aggregation_method" in rule:
        signal["aggregation"] = rule["aggregation_method"]
    reasons = {"prototype_scoring": "llmswitch scores every candidate", "image_candidates": "text candidates only"}
    handled = (
        "name",
        "description",
        "candidates",
        "threshold",
        "aggregation_method",
        "query_modality",
        "negative_candidates",
        "negative_image_candidates",
    )
    report.extra_keys(rule, path, handled, reasons)
    return Converted({str(rule["name"]): signal})


def _domain(rule: dict, path: str, report: ImportReport) -> Converted | None:
    given = rule.get("mmlu_categories") or [rule["name"]]
    categories = [str(c).strip().lower().replace("_", " ") for c in given]
    unknown = [c for c in categories if c not in CATEGORIES]
    if unknown:
        report.not_mapped(path, f"categories {unknown} are not among llmswitch's 14 domains ({', '.join(CATEGORIES)})")
        return None
    reasons = {"model_scores": "llmswitch ranks a decision's models by its algorithm, not per domain"}
    report.extra_keys(rule, path, ("name", "description", "mmlu_categories"), reasons)
    return Converted({str(rule["name"]): {"categories": categories}})


def _language(rule: dict, path: str, report: ImportReport) -> Converted | None:
    code = str(rule["name"]).strip().lower()
    if code not in LANGUAGE_CODES:
        report.not_mapped(path, f"{code!r} is not an ISO 639-1 code llmswitch's detector knows")
        return None
    threshold = rule.get("threshold") or 0.3  # the source's detector treats 0 (unset) as 0.3
    report.extra_keys(rule, path, ("name", "description", "threshold"))
    return Converted({str(rule["name"]): {"languages": [code], "min_confidence": threshold}})


def token_count(value: Any) -> int | None:
    """'32K' -> 32000, '1.5M' -> 1500000, 4000 -> 4000 (the source's K and M are powers of ten)."""
    text = str(value).strip().upper()
    scale = {"K": 1_000, "M": 1_000_000}.get(text[-1:], 1)
    try:
        number = float(text[:-1] if scale > 1 else text)
    except ValueError:
        return None
    return int(number * scale) if number >= 0 else None


def _context(rule: dict, path: str, report: ImportReport) -> Converted | None:
    signal = {}
    for key in ("min_tokens", "max_tokens"):
        if rule.get(key) not in (None, ""):
            tokens = token_count(rule[key])
            if tokens is None:
                report.not_mapped(f"{path}.{key}", f"{rule[key]!r} is not a token count")
                return None
            signal[key] = tokens
    report.extra_keys(rule, path, ("name", "description", "min_tokens", "max_tokens"))
    return Converted({str(rule["name"]): signal})


def _complexity(rule: dict, path: str, report: ImportReport) -> Converted | None:
    if rule.get("composer"):
        report.not_mapped(path, "composer: llmswitch complexity signals are not gated by other signals")
        return None
    report.change(
        path,
        "becomes llmswitch's easy/medium/hard signals (name:level, nearest centroid of its shipped "
        "labelled examples); the source's candidates and threshold are not carried",
    )
    report.extra_keys(
        rule,
        path,
        ("name", "description", "hard", "easy", "threshold", "hard_above", "easy_below", "prototype_scoring", "method"),
    )
    name = str(rule["name"])
    return Converted({f"{name}:{level}": {"level": level} for level in COMPLEXITY_LEVELS})


def _jailbreak(rule: dict, path: str, report: ImportReport) -> Converted | None:
    return Converted({str(rule["name"]): jailbreak_signal(rule, path, report)})


def _pii(rule: dict, path: str, report: ImportReport) -> Converted | None:
    signal = pii_signal(rule, path, report)
    return Converted({str(rule["name"]): signal}) if signal is not None else None


FAMILIES: dict[str, Family] = {
    "keywords": Family("keyword", "keywords", _keyword, KeywordSignal),
    "embeddings": Family("embedding", "embeddings", _embedding, EmbeddingSignal),
    "domains": Family("domain", "domains", _domain, DomainSignal),
    "language": Family("language", "language", _language, LanguageSignal),
    "context": Family("context", "context", _context, ContextSignal),
    "complexity": Family("complexity", "complexity", _complexity, ComplexitySignal),
    "classifiers": Family(
        "classifier",
        reason="its classifier models cannot be read by llmswitch: train one with "
        "`llmswitch train classifier` and add it under signals.classifiers",
    ),
    "jailbreak": Family("jailbreak", "jailbreak", _jailbreak, JailbreakSignal),
    "pii": Family("pii", "pii", _pii, PiiSignal),
    "fact_check": Family("fact_check"),
    "user_feedbacks": Family("user_feedback"),
    "reasks": Family("reask"),
    "preferences": Family("preference"),
    "structure": Family("structure"),
    "modality": Family("modality"),
    "role_bindings": Family("authz"),
    "safety": Family("safety"),
    "hallucination": Family("hallucination"),
    "kb": Family("kb"),
    "conversation": Family("conversation"),
    "events": Family("event"),
    "metadata": Family("metadata"),
    "input_modality": Family("input_modality"),
}
BY_CONDITION = {family.condition: key for key, family in FAMILIES.items()}
BY_CONDITION["projection"] = "projections"


class SignalCatalog:
    """The converted `signals:` section, and what each source condition (type, name) became."""

    def __init__(self, at: At | None, report: ImportReport) -> None:
        self.sections: dict[str, list[dict]] = {}
        self._refs: dict[tuple[str, str], SignalRef] = {}
        families = at.value if at and isinstance(at.value, dict) else {}
        for key, rules in families.items():
            path = f"{at.path}.{key}"
            family = FAMILIES.get(key)
            if family is None:
                report.not_mapped(path, f"unknown signal family {key!r}")
            elif family.convert is None:
                if rules:
                    report.not_mapped(path, _why_not(family))
            else:
                self._convert(family, rules if isinstance(rules, list) else [], path, report)
        if families.get("embeddings"):
            report.change(
                f"{at.path}.embeddings",
                "thresholds kept; cosine scales differ between embedding models "
                "(llmswitch: MiniLM-L6): check them with `llmswitch route`",
            )

    def _convert(self, family: Family, rules: list, path: str, report: ImportReport) -> None:
        names = Names(report, (s["name"] for s in self.sections.get(family.section, [])))
        for index, rule in enumerate(rules):
            rule_path = f"{path}[{index}]"
            if not isinstance(rule, dict) or "name" not in rule:
                report.not_mapped(rule_path, "a signal needs a name")
                continue
            converted = family.convert(rule, rule_path, report)
            for source_name, fields in (converted.signals if converted else {}).items():
                name = names.add(source_name, f"{rule_path}.name")
                if name is None:
                    continue
                try:
                    family.model.model_validate({"name": name, **fields})
                except ValidationError as exc:
                    error = exc.errors()[0]
                    where = ".".join(str(p) for p in error["loc"])
                    report.not_mapped(rule_path, f"not carried: {where}: {error['msg']}")
                    continue
                self.sections.setdefault(family.section, []).append({"name": name, **fields})
                self._refs[(family.condition, source_name)] = SignalRef(family.condition, name, converted.negate)

    def resolve(self, condition_type: str, name: str) -> SignalRef | str:
        """What a source condition tests in llmswitch, or why it cannot be mapped."""
        ref = self._refs.get((condition_type, name))
        if ref is not None:
            return ref
        family = BY_CONDITION.get(condition_type)
        if family is None:
            return f"unknown condition type {condition_type!r}"
        if family == "projections":
            return "tests a projection: llmswitch has no projections"
        if FAMILIES[family].convert is None:
            return f"tests a {condition_type} signal: {_why_not(FAMILIES[family])}"
        return f"no {condition_type} signal named {name!r} was carried over"


def _why_not(family: Family) -> str:
    return family.reason or f"llmswitch has no {family.condition} signal yet"

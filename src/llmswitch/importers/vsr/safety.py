"""Jailbreak and PII: the source's `jailbreak` / `pii` signals and decision plugins onto llmswitch's.

The source detects both with its own classifier models; llmswitch with its shipped jailbreak head
plus phrase rules (`method: both`) and a pattern-and-checksum PII detector. So the signals and
plugins carry over by meaning, and each conversion reports how detection differs: the thresholds
are another model's probabilities, and the source's PII types that llmswitch does not detect
(names, addresses, dates, ...) are listed.
"""

from __future__ import annotations

from typing import Any

from llmswitch.importers.report import ImportReport, is_off
from llmswitch.importers.vsr.layout import At
from llmswitch.safety.pii import PII_TYPES

# The source's PII type names (Presidio's, and the short forms its docs use) -> llmswitch's entity type.
PII_TYPE_NAMES = {
    "EMAIL_ADDRESS": "email",
    "EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "PHONE": "phone",
    "CREDIT_CARD": "credit_card",
    "IBAN_CODE": "iban",
    "IBAN": "iban",
    "US_SSN": "national_id",
    "SSN": "national_id",
    "IP_ADDRESS": "ip_address",
}
# What the source's classifier finds, in llmswitch's types (llmswitch's `secret` has no counterpart there).
SOURCE_PII_TYPES = tuple(t for t in PII_TYPES if t in PII_TYPE_NAMES.values())
NOT_DETECTED = "PERSON, STREET_ADDRESS, LOCATION, GPE, ORGANIZATION, DATE_TIME, AGE, NRP, ZIP_CODE, DOMAIN_NAME, US_DRIVER_LICENSE"
JAILBREAK_CHANGE = (
    "llmswitch detects with its shipped jailbreak head and phrase rules (method: both); the threshold is "
    "kept, but it is another model's probability: check it against docs/safety.md"
)


def pii_types(allowed: Any, path: str, report: ImportReport) -> list[str] | None:
    """llmswitch's types to detect: the source's detected types less `pii_types_allowed`; None when none is left."""
    names = [str(n).upper() for n in allowed] if isinstance(allowed, list) else []
    unknown = [n for n in names if n not in PII_TYPE_NAMES]
    if unknown:
        report.change(f"{path}.pii_types_allowed", f"{unknown}: llmswitch does not detect these, so allowing them changes nothing")
    allowed_types = {PII_TYPE_NAMES[n] for n in names if n in PII_TYPE_NAMES}
    if "national_id" in allowed_types:
        report.change(f"{path}.pii_types_allowed", "US_SSN allows every national ID llmswitch detects (national_id)")
    types = [t for t in SOURCE_PII_TYPES if t not in allowed_types]
    if not types:
        report.not_mapped(path, "every PII type llmswitch detects is allowed: it would never match")
        return None
    report.change(
        path,
        f"llmswitch's pattern and checksum detector: {', '.join(types)} in user turns and tool traffic; "
        f"it does not detect {NOT_DETECTED}; the source's threshold is not carried (min_score 0.5)",
    )
    return types


def jailbreak_signal(rule: dict, path: str, report: ImportReport) -> dict:
    report.change(path, JAILBREAK_CHANGE)
    reasons = {
        "jailbreak_patterns": "llmswitch's phrase rules are built in: test these phrases with a keyword signal",
        "benign_patterns": "llmswitch's phrase rules are built in",
        "include_history": "llmswitch's rules read every user turn and tool result; its head the latest user turn",
    }
    report.extra_keys(rule, path, ("name", "description", "threshold", "method"), reasons)
    signal: dict[str, Any] = {"method": "both"}
    if isinstance(rule.get("threshold"), int | float):
        signal["threshold"] = rule["threshold"]
    return signal


def pii_signal(rule: dict, path: str, report: ImportReport) -> dict | None:
    types = pii_types(rule.get("pii_types_allowed"), path, report)
    reasons = {"include_history": "llmswitch reads every user turn and tool result"}
    report.extra_keys(rule, path, ("name", "description", "threshold", "pii_types_allowed"), reasons)
    return {"types": types} if types is not None else None


def jailbreak_plugin(plugin: dict, path: str, report: ImportReport) -> dict | None:
    configuration = _configuration(plugin)
    report.change(path, f"a jailbreak plugin that blocks (400 content_blocked); {JAILBREAK_CHANGE}")
    report.extra_keys(configuration, f"{path}.configuration", ("enabled", "threshold"))
    out: dict[str, Any] = {"type": "jailbreak", "action": "block", "method": "both"}
    if isinstance(configuration.get("threshold"), int | float):
        out["threshold"] = configuration["threshold"]
    return out


def pii_plugin(plugin: dict, path: str, report: ImportReport) -> dict | None:
    configuration = _configuration(plugin)
    types = pii_types(configuration.get("pii_types_allowed"), f"{path}.configuration", report)
    report.extra_keys(configuration, f"{path}.configuration", ("enabled", "threshold", "pii_types_allowed"))
    if types is None:
        return None
    report.change(path, "a pii plugin that blocks (400 pii_detected); llmswitch can redact instead: action: redact")
    return {"type": "pii", "action": "block", "types": types}


def _configuration(plugin: dict) -> dict:
    configuration = plugin.get("configuration")
    return configuration if isinstance(configuration, dict) else {}


SAFETY_MODELS = (
    "llmswitch ships its own jailbreak head and PII detector, which signals.jailbreak / signals.pii and the "
    "jailbreak / pii plugins use: there is no model to load"
)


def safety_model(key: str) -> bool:
    """A model-catalog entry that loads a jailbreak or PII model."""
    return key == "prompt_guard" or "jailbreak" in key or "pii" in key


def convert_prompt_guard(at: At | None, report: ImportReport) -> list[dict]:
    """The flat layout's router-wide `prompt_guard` (blocks jailbreaks on every request): a top-level plugin."""
    if at is None or not isinstance(at.value, dict) or is_off(at.value) or not at.value.get("enabled"):
        return []
    guard = at.value
    report.change(at.path, f"a top-level jailbreak plugin that blocks every request it flags; {JAILBREAK_CHANGE}")
    reasons = {key: SAFETY_MODELS for key in ("model_id", "use_modernbert", "use_cpu", "jailbreak_mapping_path")}
    report.extra_keys(guard, at.path, ("enabled", "threshold"), reasons)
    plugin: dict[str, Any] = {"type": "jailbreak", "action": "block", "method": "both"}
    if isinstance(guard.get("threshold"), int | float):
        plugin["threshold"] = guard["threshold"]
    return [plugin]

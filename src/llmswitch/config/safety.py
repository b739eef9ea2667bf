"""Safety plugins: act on PII and jailbreak / prompt-injection attempts (`plugins: [{type: pii, ...}]`).

They run before every other action of a request (budget admission, the other plugins, the cache
lookup), top-level ones first, then the decision's; see `llmswitch.plugins.safety`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from llmswitch.config.base import StrictModel
from llmswitch.safety.pii import PII_TYPES

BLOCK_STATUS = 400
PII_BLOCKED = "pii_detected"
JAILBREAK_BLOCKED = "content_blocked"


class PiiPlugin(StrictModel):
    """Redact, block or flag personal data and secrets (the detector of the `pii` signal)."""

    type: Literal["pii"]
    action: Literal["redact", "block", "flag"] = Field(
        "redact",
        description="redact: replace each span in the forwarded body; block: answer 400 pii_detected, nothing "
        "goes upstream; flag: forward unchanged, with the x-llmswitch-safety header and a metric.",
    )
    types: list[Literal[PII_TYPES]] = Field(list(PII_TYPES), min_length=1)  # type: ignore[valid-type]
    scope: list[Literal["user", "tool", "system", "assistant"]] = Field(
        ["user", "tool"],
        min_length=1,
        description="user: user turns; tool: tool results and tool-call arguments; system, assistant: redact only.",
    )
    min_score: float = Field(0.5, ge=0, le=1, description="Ignore weaker candidates (a bare digit run scores 0.4).")
    placeholder: str = Field("[{TYPE}]", description="Replaces a redacted span; {type} or {TYPE} names its entity type.")

    @model_validator(mode="after")
    def _detector_scope(self) -> PiiPlugin:
        extra = [s for s in self.scope if s not in ("user", "tool")]
        if self.action != "redact" and extra:
            raise ValueError(f"scope {extra} is for action redact; block and flag read user and tool text")
        return self


class JailbreakPlugin(StrictModel):
    """Block or flag jailbreak and prompt-injection attempts (the detector of the `jailbreak` signal)."""

    type: Literal["jailbreak"]
    action: Literal["block", "flag"] = Field(
        "block", description="block: answer 400 content_blocked, nothing goes upstream; flag: header and metric."
    )
    method: Literal["model", "rules", "both"] = Field(
        "both", description="As the jailbreak signal's: the trained head (needs the encoder), phrase rules, or either."
    )
    threshold: float = Field(0.9, ge=0, le=1, description="Act when the head's probability reaches this.")


SAFETY_PLUGIN_TYPES = frozenset({"pii", "jailbreak"})

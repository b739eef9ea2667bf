"""The `decisions:` section: rule trees over signals, the models each decision may pick and how."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, model_validator

from llmswitch.config.algorithms import Algorithm, StaticAlgorithm
from llmswitch.config.base import Name, StrictModel
from llmswitch.config.plugins import Plugin


class Condition(StrictModel):
    """A leaf of a rule tree: true when the named signal matched."""

    type: Literal[
        "keyword", "context", "header", "domain", "embedding", "complexity", "language", "classifier", "jailbreak", "pii"
    ]
    name: Name
    label: str | None = Field(None, min_length=1, description="For classifier conditions: the label to test.")

    @model_validator(mode="after")
    def _label_only_for_classifiers(self) -> Condition:
        if (self.type == "classifier") != (self.label is not None):
            raise ValueError("classifier conditions need a label; other types take none")
        return self

    @property
    def key(self) -> tuple[str, str]:
        """The (type, name) a signal result is memoised under; a classifier's label is part of the name."""
        return (self.type, self.name if self.label is None else f"{self.name}={self.label}")


class RuleNode(StrictModel):
    operator: Literal["AND", "OR", "NOT"]
    conditions: list[RuleOrCondition] = Field(min_length=1)

    @model_validator(mode="after")
    def _not_is_unary(self) -> RuleNode:
        if self.operator == "NOT" and len(self.conditions) != 1:
            raise ValueError("NOT takes exactly one condition")
        return self


def _rule_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return "rule" if "operator" in value else "condition"
    if isinstance(value, RuleNode):
        return "rule"
    if isinstance(value, Condition):
        return "condition"
    return None


RuleOrCondition = Annotated[
    Annotated[RuleNode, Tag("rule")] | Annotated[Condition, Tag("condition")],
    Discriminator(_rule_kind, custom_error_type="rule", custom_error_message="expected a rule or a condition"),
]
RuleNode.model_rebuild()


class ModelRef(StrictModel):
    model: Name
    weight: float = Field(1.0, gt=0, description="Relative share for the weighted algorithm.")


class Decision(StrictModel):
    name: Name
    description: str = ""
    priority: int = 0
    rules: RuleOrCondition
    model_refs: list[ModelRef] = Field(alias="modelRefs", min_length=1)
    algorithm: Algorithm = StaticAlgorithm()
    plugins: list[Plugin] = Field([], description="Applied in order to the upstream request, after the top-level ones.")

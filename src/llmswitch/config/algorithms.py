"""Per-decision model-selection settings: `algorithm: {type: X, X: {params}}`.

Each algorithm is one model here and one module in `llmswitch.selection`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from llmswitch.config.base import StrictModel


class StaticAlgorithm(StrictModel):
    """Always the first modelRef."""

    type: Literal["static"] = "static"


class WeightedParams(StrictModel):
    seed: int | None = Field(None, description="Seed for reproducible picks; random if unset.")


class WeightedAlgorithm(StrictModel):
    """Picks a modelRef at random in proportion to its weight."""

    type: Literal["weighted"]
    weighted: WeightedParams = WeightedParams()


Algorithm = Annotated[StaticAlgorithm | WeightedAlgorithm, Field(discriminator="type")]



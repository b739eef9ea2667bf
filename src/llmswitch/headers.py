"""Header names llmswitch reads and writes, in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmswitch.config.schema import Config

SELECTED_MODEL = "x-selected-model"
DECISION = "x-llmswitch-decision"
SAFETY = "x-llmswitch-safety"
"""What the safety plugins found (types and counts only): set on the upstream request, copied to the response."""
RESPONSE_MODEL = "x-llmswitch-model"
RESPONSE_DECISION = "x-llmswitch-decision"
EGRESS = "x-llmswitch-egress"
"""Set when the chosen model speaks another API than the client: the client's API, for the upstream filter."""
BUDGET = "x-llmswitch-budget"
"""Carries a request's budget reservation from the router to the response observer; never sent upstream."""
CACHE_KEY = "x-llmswitch-cache-key"
"""Carries a cache miss's key (and prompt embedding) to the response observer, which stores the answer."""
CACHE_STATUS = "x-llmswitch-cache"
"""Response header of a cache hit (`hit`)."""
CACHE_MATCH = "x-llmswitch-cache-match"
"""Response header of a cache hit: `exact`, or `semantic; similarity=0.97`."""
INTERNAL = (BUDGET, CACHE_KEY)
"""Between the router and the response observer only: removed before the request goes upstream."""


def routing_headers(cluster_header: str, *gateway: str) -> tuple[str, ...]:
    """Headers only the router may set; any client-supplied copy is removed (`gateway`: see gateway_headers)."""
    return (cluster_header, SELECTED_MODEL, DECISION, SAFETY, *INTERNAL, EGRESS, *gateway)


def gateway_headers(config: Config) -> tuple[str, ...]:
    """The Gateway API Inference Extension headers the router sets: the model name, the picked endpoint."""
    headers = []
    if config.routing.model_name_header:
        headers.append(config.routing.model_name_header)
    if config.endpoint_picking.enabled:
        headers.append(config.endpoint_picking.destination_header)
    return tuple(headers)

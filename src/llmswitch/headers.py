"""Header names llmswitch reads and writes, in one place."""

SELECTED_MODEL = "x-selected-model"
DECISION = "x-llmswitch-decision"
RESPONSE_MODEL = "x-llmswitch-model"
RESPONSE_DECISION = "x-llmswitch-decision"
EGRESS = "x-llmswitch-egress"
"""Set when the chosen model speaks another API than the client: the client's API, for the upstream filter."""
BUDGET = "x-llmswitch-budget"
"""Carries a request's budget reservation from the router to the response observer; never sent upstream."""


def routing_headers(cluster_header: str) -> tuple[str, ...]:
    """Headers only the router may set; any client-supplied copy is removed."""
    return (cluster_header, SELECTED_MODEL, DECISION, BUDGET, EGRESS)

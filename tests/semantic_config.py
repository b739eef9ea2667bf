"""A config with semantic signals (domain and embedding), for unit and Envoy tests."""

from __future__ import annotations

from tests.helpers import base_config


def semantic_config(ports: list[int] | None = None) -> dict:
    data = base_config(ports)
    # Tests check what the signals decide; a loaded CI machine must not turn them into timeouts.
    data["semantics"] = {"timeout_ms": 10000}
    data["signals"]["domains"] = [{"name": "math", "threshold": 0.5}, {"name": "law", "threshold": 0.5}]
    data["signals"]["embeddings"] = [
        {
            "name": "refund",
            "candidates": ["I want my money back", "how do I get a refund", "cancel my order and refund me"],
            "threshold": 0.55,
        }
    ]
    data["decisions"] += [
        {"name": "math", "priority": 40, "rules": {"type": "domain", "name": "math"}, "modelRefs": [{"model": "large-model"}]},
        {"name": "refunds", "priority": 30, "rules": {"type": "embedding", "name": "refund"}, "modelRefs": [{"model": "large-model"}]},
    ]
    return data

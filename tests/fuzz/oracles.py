"""What every fuzz case must satisfy: a route plan with an intact body, or a clean OpenAI-style 4xx."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from llmswitch.pipeline import RoutePlan, RoutingPipeline
from llmswitch.protocols.errors import RequestError


def check_error_body(body: bytes) -> dict[str, Any]:
    """`{"error": {"message", "type", "code"}}`, each a non-empty string."""
    payload = orjson.loads(body)
    assert list(payload) == ["error"], payload
    error = payload["error"]
    for key in ("message", "type", "code"):
        assert isinstance(error[key], str) and error[key], error
    return error


def canonical(value: object) -> str:
    """Type- and order-strict text of a JSON value: 1 is not 1.0, reordered keys differ, integers stay exact."""
    return json.dumps(value, ensure_ascii=True)


def allowed_forwarded_bodies(sent: dict[str, Any], model: str) -> set[str]:
    """The input with only `model` changed; a stream may also be asked for usage (accounting)."""
    allowed = [{**sent, "model": model}]
    if sent.get("stream") is True:
        options = sent.get("stream_options")
        usage = {**(options if isinstance(options, dict) else {}), "include_usage": True}
        allowed.append({**sent, "model": model, "stream_options": usage})
    return {canonical(body) for body in allowed}


def check_forwarded_body(sent_body: bytes, forwarded_body: bytes | None, model: str) -> None:
    """The standard library's parser is the reference: it keeps every integer exactly."""
    sent = json.loads(sent_body)
    forwarded = sent if forwarded_body is None else json.loads(forwarded_body)
    assert canonical(forwarded) in allowed_forwarded_bodies(sent, model)


def check_route(pipeline: RoutingPipeline, headers: Mapping[str, str], body: bytes, path: str) -> str:
    """Route one body; returns an outcome label for hypothesis statistics."""
    try:
        plan: RoutePlan = pipeline.route(headers, body, path)
    except RequestError as err:
        assert 400 <= err.status < 500, err
        assert check_error_body(err.body())["code"] == err.code
        return f"{err.status} {err.code}"
    check_forwarded_body(body, plan.body, plan.model.body_model)
    return f"routed: {plan.decision}"

"""OpenAI Responses request bodies (POST /v1/responses)."""

from __future__ import annotations

from typing import Any

from llmswitch.protocols.translate.responses_request import decode_responses
from llmswitch.protocols.translate.view import view_of
from llmswitch.protocols.view import RequestView


def parse_responses(data: dict[str, Any], model: str) -> RequestView:
    """The routing view of `instructions` and `input` (a string or a list of items).

    `previous_response_id` is accepted: the earlier turns it refers to are stored by the model's
    provider, so routing sees only this request's input, and only a model that speaks the
    Responses API natively can take it (translating it to another API is refused).
    """
    return view_of("responses", data, model, decode_responses(data))

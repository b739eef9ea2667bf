"""GET /v1/models: the router answers with the models a client may ask for."""

from __future__ import annotations

import orjson

from llmswitch.config.schema import Config

MODELS_PATH = "/v1/models"


def is_models_list(method: str, path: str) -> bool:
    return method == "GET" and path.partition("?")[0].endswith(MODELS_PATH)


def model_list(config: Config) -> bytes:
    names = [*config.routing.auto_models, *(m.name for m in config.models)]
    return orjson.dumps(
        {"object": "list", "data": [{"id": n, "object": "model", "created": 0, "owned_by": "llmswitch"} for n in names]}
    )

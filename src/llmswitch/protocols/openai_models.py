"""GET /v1/models and /v1/models/{id}: the models a client may ask for, in OpenAI's shape."""

from __future__ import annotations

import orjson

from llmswitch.config.schema import Config

MODELS_PATH = "/v1/models"


def _model(name: str) -> dict:
    return {"id": name, "object": "model", "created": 0, "owned_by": "llmswitch"}


def model_list(config: Config) -> bytes:
    names = [*config.routing.auto_models, *(m.name for m in config.models)]
    return orjson.dumps({"object": "list", "data": [_model(n) for n in names]})


def model_object(name: str) -> bytes:
    return orjson.dumps(_model(name))

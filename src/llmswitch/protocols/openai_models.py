"""GET /v1/models and GET /v1/models/{id}: the router answers with the models a client may ask for."""

from __future__ import annotations

import orjson

from llmswitch.config.schema import Config
from llmswitch.protocols.errors import model_not_found

MODELS_PATH = "/v1/models"
_READ_METHODS = frozenset({"GET", "HEAD"})


def models_request(method: str, path: str) -> str | None:
    """For a GET or HEAD of the model list or one model: "" (the list) or the model id; otherwise None."""
    if method not in _READ_METHODS:
        return None
    path = path.partition("?")[0]
    if path == MODELS_PATH:
        return ""
    model = path.removeprefix(MODELS_PATH + "/")  # model names may hold slashes (org/model)
    return model if model and model != path else None


def _model(name: str) -> dict[str, object]:
    return {"id": name, "object": "model", "created": 0, "owned_by": "llmswitch"}


def _names(config: Config) -> list[str]:
    return [*config.routing.auto_models, *(m.name for m in config.models)]


def model_list(config: Config) -> bytes:
    return orjson.dumps({"object": "list", "data": [_model(n) for n in _names(config)]})


def model_object(config: Config, name: str) -> bytes:
    """One model's object; raises the 404 `model_not_found` for a name the router does not serve."""
    if name not in _names(config):
        raise model_not_found(name)
    return orjson.dumps(_model(name))

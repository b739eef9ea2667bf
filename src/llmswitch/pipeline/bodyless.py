"""What a request without a body gets: fixed answers that depend on the config alone.

One list serves both ext_proc modes. With two messages the router answers from the headers
message (`RoutingPipeline.headers_only`); with one message Envoy sends no message for a body-less
request, so the generated route config answers the same list with direct responses.
A body-less request that matches none of them goes to `default_model` unrouted, never with a
credential (the router adds keys only to requests it routes); when `default_model` holds an upstream
key, it is a 404 instead, so no keyed upstream is reached by an arbitrary path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from llmswitch.config.schema import Config
from llmswitch.pipeline.plan import Respond
from llmswitch.protocols.errors import RequestError, bad_request
from llmswitch.protocols.openai_models import MODELS_PATH, model_list, model_object
from llmswitch.protocols.paths import API_PATHS
from llmswitch.protocols.view import ClientApi

READ_METHODS = ("GET", "HEAD")
BODY_METHODS = ("POST", "PUT", "PATCH")
OTHER_METHODS = ("GET", "HEAD", "DELETE", "OPTIONS")


@dataclass(frozen=True)
class FixedAnswer:
    methods: tuple[str, ...]
    path_regex: str
    """Matches the whole path without its query string (RE2 and Python `re` alike)."""
    respond: Respond
    error: RequestError | None = None
    """Set for error answers, which telemetry records as rejected requests."""


def _error(err: RequestError, api: ClientApi, methods: tuple[str, ...], path_regex: str) -> FixedAnswer:
    return FixedAnswer(methods, path_regex, Respond(err.status, err.body_for(api), f"llmswitch_{err.code}"), err)


def empty_body_error() -> RequestError:
    return bad_request("empty_body", "The request body is empty; expected a JSON object.")


def model_answers(config: Config) -> list[FixedAnswer]:
    """GET/HEAD of the model list and of each model, and 404 for an unknown model id."""
    models = re.escape(MODELS_PATH)
    answers = [FixedAnswer(READ_METHODS, models, Respond(200, model_list(config), "llmswitch_models"))]
    for name in [*config.routing.auto_models, *(m.name for m in config.models)]:
        respond = Respond(200, model_object(name), "llmswitch_models")
        answers.append(FixedAnswer(READ_METHODS, f"{models}/{re.escape(name)}", respond))
    unknown = RequestError(404, "model_not_found", "The model does not exist or you do not have access to it.")
    answers.append(_error(unknown, "chat", READ_METHODS, f"{models}/.+"))
    return answers


def empty_body_answers() -> list[FixedAnswer]:
    """400 for a POST, PUT or PATCH without a body: in each routed path's API shape, OpenAI's elsewhere."""
    err = empty_body_error()
    answers = [_error(err, api, BODY_METHODS, re.escape(path)) for api, path in API_PATHS.items()]
    answers.append(_error(err, "chat", BODY_METHODS, ".*"))
    return answers


def keyed_default_answer() -> FixedAnswer:
    """404 for every other body-less request, when `default_model` holds an upstream key."""
    err = RequestError(
        404,
        "unsupported_endpoint",
        "This path is not available through this router: requests without a body go only to the model list.",
    )
    return _error(err, "chat", OTHER_METHODS, ".*")


class BodylessAnswers:
    """The fixed answers of one config, matched in order."""

    def __init__(self, config: Config) -> None:
        self.answers = [*model_answers(config), *empty_body_answers()]
        if config.model(config.default_model).api_key_env is not None:
            self.answers.append(keyed_default_answer())
        self._compiled = [(a.methods, re.compile(a.path_regex, re.S), a) for a in self.answers]

    def match(self, method: str, path: str) -> FixedAnswer | None:
        bare = path.partition("?")[0]
        for methods, pattern, answer in self._compiled:
            if method in methods and pattern.fullmatch(bare):
                return answer
        return None

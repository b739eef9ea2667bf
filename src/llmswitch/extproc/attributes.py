"""Request attributes: how a one-message ext_proc stream carries the request headers routing reads.

Envoy evaluates each attribute (a CEL expression) once per request and sends the values with the
body, under the filter's name. A header the request lacks is left out. Envoy prints a whole header
map as "CelMap value", so each header is asked for by name (`pipeline.wire.read_headers`).
"""

from __future__ import annotations

from functools import lru_cache

from envoy.service.ext_proc.v3.external_processor_pb2 import ProcessingRequest

from llmswitch.config.schema import Config
from llmswitch.pipeline.wire import read_headers

FILTER = "envoy.filters.http.ext_proc"
_PSEUDO_HEADERS = {"request.path": ":path", "request.method": ":method"}
_HEADER_PREFIX, _HEADER_SUFFIX = "request.headers['", "']"


def header_attribute(name: str) -> str:
    """The attribute for one request header (header names are validated lower-case tokens)."""
    return f"{_HEADER_PREFIX}{name}{_HEADER_SUFFIX}"


def request_attributes(config: Config) -> list[str]:
    """The attributes the routing ext_proc filter asks Envoy for, in one-message mode."""
    return [*_PSEUDO_HEADERS, *(header_attribute(name) for name in read_headers(config))]


@lru_cache(maxsize=1024)
def _header_name(attribute: str) -> str:
    return _PSEUDO_HEADERS.get(attribute) or attribute.removeprefix(_HEADER_PREFIX).removesuffix(_HEADER_SUFFIX)


def request_headers(message: ProcessingRequest) -> dict[str, str]:
    """The headers a one-message stream's body carries as attributes, keyed as in a headers message."""
    attributes = message.attributes.get(FILTER)
    if attributes is None:
        return {}
    return {_header_name(key): value.string_value for key, value in attributes.fields.items()}

"""Which request headers the pipeline reads, and which it may set, for Envoy's one-message ext_proc mode.

In that mode Envoy sends a routed request as one message, its buffered body: the headers routing
reads travel with it as request attributes (`read_headers`), and the headers a `Forward` sets go
back as dynamic metadata that an Envoy header-mutation filter writes into the request
(`FORWARDED_HEADERS`). A header the request path starts to read or set belongs here too.
"""

from __future__ import annotations

from llmswitch import headers as names
from llmswitch.config.schema import Config
from llmswitch.pipeline.egress import CREDENTIAL_HEADERS

TRACE_CONTEXT = ("traceparent", "tracestate")
"""W3C trace context: read to join the client's trace, set to continue it upstream."""
ANTHROPIC_VERSION = "anthropic-version"
REQUEST_ID = "x-request-id"

FORWARDED_HEADERS: tuple[str, ...] = (
    names.SELECTED_MODEL,
    names.DECISION,
    *names.INTERNAL,
    names.EGRESS,
    *TRACE_CONTEXT,
    ANTHROPIC_VERSION,
    *CREDENTIAL_HEADERS,
)
"""The headers a `Forward` may set on the upstream request under any config, besides the cluster header
and `:path` (one-message mode routes by metadata and rewrites the path in the model's route)."""


def forwarded_headers(config: Config) -> tuple[str, ...]:
    """Every header a `Forward` may set under `config`: the fixed ones, the GIE model-name header, and the
    headers its plugins set."""
    from llmswitch.plugins import headers_set  # plugins import the pipeline

    extra = [config.routing.model_name_header] if config.routing.model_name_header else []
    return tuple(dict.fromkeys([*FORWARDED_HEADERS, *extra, *headers_set(config)]))


def read_headers(config: Config) -> tuple[str, ...]:
    """The request headers routing, its actions, egress and telemetry read under `config` (not :path, :method)."""
    read = [REQUEST_ID, *(signal.header for signal in config.signals.headers)]
    if config.telemetry.tracing.enabled is not False:
        read += TRACE_CONTEXT
    budget = config.budget
    if budget.limits:
        read.append("authorization" if budget.tenants else budget.tenant_header)
    if any(model.api == "anthropic" for model in config.models):
        read.append(ANTHROPIC_VERSION)
    read.append("content-encoding")  # a compressed body is refused (415)
    return tuple(dict.fromkeys(read))

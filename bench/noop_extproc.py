"""A no-op grpc.aio ext_proc server: the same messages as llmswitch, each answered with a fixed reply.

The benchmark's baseline for "what Python ext_proc costs before llmswitch does any work". It is
registered like llmswitch's servicer, so its replies too are serialized once and sent as bytes.
Two-message mode: every message gets CONTINUE. One-message mode (`--route-to CLUSTER`): the body
gets the least a one-message reply must carry to route (the cluster, as dynamic metadata, and the
route-cache clearing), always the same bytes, and the stream ends with it, as llmswitch's does.
"""

from __future__ import annotations

import argparse

import grpc
from envoy.service.ext_proc.v3 import external_processor_pb2_grpc
from envoy.service.ext_proc.v3.external_processor_pb2 import (
    BodyResponse,
    HeadersResponse,
    ProcessingResponse,
    TrailersResponse,
)

from llmswitch.extproc import responses
from llmswitch.extproc.servicer import add_to_server

_CONTINUE = {
    kind: reply.SerializeToString()
    for kind, reply in {
        "request_headers": ProcessingResponse(request_headers=HeadersResponse()),
        "request_body": ProcessingResponse(request_body=BodyResponse()),
        "response_headers": ProcessingResponse(response_headers=HeadersResponse()),
        "response_body": ProcessingResponse(response_body=BodyResponse()),
        "request_trailers": ProcessingResponse(request_trailers=TrailersResponse()),
        "response_trailers": ProcessingResponse(response_trailers=TrailersResponse()),
    }.items()
}


class NoopProcessor(external_processor_pb2_grpc.ExternalProcessorServicer):
    def __init__(self, route_to: str | None = None) -> None:
        """`route_to`: one-message mode, the body's reply sends the request to this cluster."""
        self.replies = dict(_CONTINUE)
        self.one_message = route_to is not None
        if route_to is not None:
            metadata = responses.routing_metadata(route_to, "noop", "noop")
            self.replies["request_body"] = responses.routed_by_metadata(metadata, None)

    async def Process(self, request_iterator, context):
        replies = self.replies
        async for request in request_iterator:
            kind = request.WhichOneof("request")
            yield replies[kind]
            if self.one_message and kind == "request_body" and request.request_body.end_of_stream:
                break  # as llmswitch does: nothing follows the body in one-message mode


async def serve(port: int, route_to: str | None) -> None:
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 16 << 20)])
    add_to_server(NoopProcessor(route_to), server)
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--route-to", metavar="CLUSTER", help="one-message mode: route every request to this cluster")
    args = parser.parse_args()
    try:
        from uvloop import run
    except ImportError:
        from asyncio import run
    run(serve(args.port, args.route_to))

"""Per client API: is a stored response a complete, successful answer, and how to serve it the other way
(a JSON entry to a streaming request as SSE, an SSE entry to a non-streaming request as JSON).

One module per API: `chat` (converted here, keeping several choices, logprobs and refusals),
`messages` and `responses` (through the protocol layer's neutral representation).
"""

from llmswitch.cache.convert.base import ApiCodec, events
from llmswitch.cache.convert.chat import ChatCodec
from llmswitch.cache.convert.messages import MessagesCodec
from llmswitch.cache.convert.responses import ResponsesCodec
from llmswitch.protocols.view import ClientApi

CODECS: dict[ClientApi, ApiCodec] = {"chat": ChatCodec(), "responses": ResponsesCodec(), "messages": MessagesCodec()}

__all__ = ["CODECS", "ApiCodec", "events"]

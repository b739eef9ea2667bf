"""A whole reply as the events of a stream, and a whole stream folded back into a reply, in the
protocol layer's neutral representation (`protocols.translate.ir`)."""

from __future__ import annotations

from llmswitch.protocols.translate.ir import (
    ArgumentsDelta,
    BlockStarted,
    BlockStopped,
    Ended,
    Event,
    Failed,
    Reasoning,
    ReasoningDelta,
    Reply,
    SignatureDelta,
    Started,
    Stopped,
    Text,
    TextDelta,
    ToolCall,
    UsageSeen,
)


def reply_events(reply: Reply) -> list[Event]:
    """The stream events that spell out a whole reply."""
    out: list[Event] = [Started(reply.id, reply.model, reply.created, reply.usage)]
    for index, block in enumerate(reply.blocks):
        out.append(BlockStarted(index, _empty(block)))
        if isinstance(block, Text):
            out.append(TextDelta(index, block.text))
        elif isinstance(block, ToolCall):
            out.append(ArgumentsDelta(index, block.arguments))
        else:
            out.append(ReasoningDelta(index, block.text))
            if block.signature:
                out.append(SignatureDelta(index, block.signature))
        out.append(BlockStopped(index))
    out.append(Stopped(reply.stop, reply.stop_sequence))
    if reply.usage is not None:
        out.append(UsageSeen(reply.usage))
    out.append(Ended())
    return out


def _empty(block: Text | ToolCall | Reasoning) -> Text | ToolCall | Reasoning:
    if isinstance(block, Text):
        return Text("")
    if isinstance(block, ToolCall):
        return ToolCall(block.id, block.name, "")
    return Reasoning("")


def fold_events(found: list[Event]) -> Reply | None:
    """The reply a whole stream of events spells out, or None if it did not end well."""
    started = next((e for e in found if isinstance(e, Started)), None)
    if started is None or not any(isinstance(e, Ended) for e in found) or any(isinstance(e, Failed) for e in found):
        return None
    reply = Reply(started.id, started.model, started.created, [], "end", None, started.usage)
    blocks: dict[int, Text | ToolCall | Reasoning] = {}
    for event in found:
        if isinstance(event, BlockStarted):
            blocks[event.index] = event.block
        elif isinstance(event, TextDelta | ReasoningDelta) and event.index in blocks:
            blocks[event.index].text += event.text  # type: ignore[union-attr]
        elif isinstance(event, ArgumentsDelta) and event.index in blocks:
            blocks[event.index].arguments += event.json  # type: ignore[union-attr]
        elif isinstance(event, SignatureDelta) and event.index in blocks:
            blocks[event.index].signature = (blocks[event.index].signature or "") + event.signature  # type: ignore[union-attr]
        elif isinstance(event, Stopped):
            reply.stop, reply.stop_sequence = event.reason, event.stop_sequence
        elif isinstance(event, UsageSeen):
            reply.usage = event.usage
    reply.blocks = [blocks[i] for i in sorted(blocks)]
    return reply

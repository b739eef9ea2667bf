"""What routing reads from each client API's body."""

from llmswitch.protocols.openai_chat import parse_chat


def test_chat_view_collects_user_text_tool_text_and_flags():
    data = {
        "model": "auto",
        "max_tokens": 64,
        "tools": [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}],
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [{"type": "text", "text": "What is on"}, {"type": "image_url", "image_url": {"url": "data:,"}}]},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "lookup", "arguments": '{"email": "a@b.example"}'}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "call +1 555 0100"},
            {"role": "user", "content": "this picture?"},
        ],
    }
    view = parse_chat(data, "auto")
    assert view.api == "chat"
    assert view.user_text == "What is on\nthis picture?"
    assert view.last_user_text == "this picture?"
    assert view.tool_text == '{"email": "a@b.example"}\ncall +1 555 0100'
    assert "Be brief." in view.conversation_text and "call +1 555 0100" in view.conversation_text
    assert view.has_tools and view.has_images
    assert view.max_output_tokens == 64


def test_chat_view_without_tools_or_images():
    view = parse_chat({"model": "auto", "messages": [{"role": "user", "content": "hi"}]}, "auto")
    assert not view.has_tools and not view.has_images and view.tool_text == "" and view.max_output_tokens is None

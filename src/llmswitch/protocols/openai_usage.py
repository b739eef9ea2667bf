"""Kept for the response observer's import; the usage readers of all three APIs live in `protocols.usage`."""

from llmswitch.protocols.usage import SseUsageScanner, Usage, json_usage, usage_tokens

__all__ = ["SseUsageScanner", "Usage", "json_usage", "usage_tokens"]

"""llmswitch: an Envoy ext_proc service that routes OpenAI-style requests to the right model."""

__version__ = "0.1.0"

"""Stub model servers that speak each client API faithfully (see `llmswitch.demo.upstream`)."""

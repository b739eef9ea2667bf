"""Converters from other routers' config files into an llmswitch config (`llmswitch import ...`)."""

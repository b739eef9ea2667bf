"""Configuration: schema, loading and validation."""

from llmswitch.config.loader import ConfigError, LoadedConfig, load_config, parse_config
from llmswitch.config.schema import Config

__all__ = ["Config", "ConfigError", "LoadedConfig", "load_config", "parse_config"]

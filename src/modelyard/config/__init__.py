"""Project configuration: the typed schema, the YAML loader with overlays, and secret masking."""

from modelyard.config.loader import CONFIG_FILE, LoadedConfig, find_config, load_config

__all__ = ["CONFIG_FILE", "LoadedConfig", "find_config", "load_config"]

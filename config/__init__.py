"""Settings: the YAML files operators edit, and the models that load and validate them."""

from config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]

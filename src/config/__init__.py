"""Service configuration: read once from the environment into one immutable object."""

from config.settings import Settings, load_settings

__all__ = ["Settings", "load_settings"]

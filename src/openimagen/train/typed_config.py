"""Moved to `openimagen.config` (shared by the cascade and the trainer); kept so existing imports work."""

from openimagen.config import ConfigError, check_choice, check_positive, from_dict, to_dict

__all__ = ["ConfigError", "from_dict", "to_dict", "check_choice", "check_positive"]

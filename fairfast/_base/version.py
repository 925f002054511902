"""The package version (one place, read by the model files and show_config)."""

__version__ = "0.1.0"

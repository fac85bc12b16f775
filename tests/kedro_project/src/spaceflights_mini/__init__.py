"""spaceflights_mini: a tiny spaceflights-like Kedro project for kfpx's tests."""

__version__ = "0.1.0"

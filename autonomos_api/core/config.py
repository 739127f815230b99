"""API settings: the platform settings, reachable through a dependency so tests can override them."""

from autonomos_pipeline.dcl.settings import Settings, get_settings

__all__ = ["Settings", "get_settings"]

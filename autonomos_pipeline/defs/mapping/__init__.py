"""Mapping assets and the self-healing loop: first mappings, drift repair, the drift sensor and the repair job."""

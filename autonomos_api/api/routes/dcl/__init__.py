"""The Data Connection Layer's API: canonical views, the mapping graph and LLM telemetry, under /dcl."""

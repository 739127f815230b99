"""Local HTTP servers that speak external APIs, for tests."""

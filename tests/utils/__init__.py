"""Test helpers and factories."""

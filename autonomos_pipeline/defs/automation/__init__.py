"""Automation: canonical and materialized assets follow their raw assets; raw assets refresh per connection."""

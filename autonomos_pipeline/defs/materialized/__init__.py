"""Materialized assets: canonical rows upserted into the serving store's materialized_<entity> tables."""

"""Services the routes call: work that is more than a query (connectors, Dagster, encryption)."""

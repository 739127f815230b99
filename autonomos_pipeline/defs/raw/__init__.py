"""Raw source assets: one per connector type, partitioned by tenant, landing rows in the tenant warehouse."""

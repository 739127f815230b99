"""The dynamic partitions definition `tenants`: one partition per tenant id."""

import dagster as dg

tenants = dg.DynamicPartitionsDefinition(name="tenants")

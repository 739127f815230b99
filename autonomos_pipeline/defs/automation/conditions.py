"""The automation condition of canonical and materialized assets."""

import dagster as dg

# Eager, except that a tenant lacking some connector type (a never-materialized raw_<type>) must not block it.
follows_upstream = dg.AutomationCondition.eager().without(~dg.AutomationCondition.any_deps_missing())

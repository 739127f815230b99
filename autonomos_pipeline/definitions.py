"""The code location's Definitions: everything under autonomos_pipeline/defs/ is loaded automatically."""

import dagster as dg

import autonomos_pipeline.defs

defs = dg.load_defs(defs_root=autonomos_pipeline.defs)

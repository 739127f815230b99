"""Canonical assets: raw tenant rows mapped onto the canonical model, invalid rows quarantined."""

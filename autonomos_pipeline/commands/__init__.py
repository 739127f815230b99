"""Subcommands of the `autonomos` console script: each module here defines register(subparsers)."""

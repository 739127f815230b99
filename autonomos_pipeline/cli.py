"""The `autonomos` console script: every module in autonomos_pipeline/commands/ adds its subcommands."""

from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys
from collections.abc import Sequence

import autonomos_pipeline.commands


def build_parser() -> argparse.ArgumentParser:
    """Build the parser with every command module's subcommands registered."""
    parser = argparse.ArgumentParser(
        prog="autonomos", description="AutonomOS: connect, canonicalize and self-heal business data."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level on stderr")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(autonomos_pipeline.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"autonomos_pipeline.commands.{info.name}")
        register = getattr(module, "register", None)
        if callable(register):
            register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command named in argv; each command sets `func` and returns an exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())

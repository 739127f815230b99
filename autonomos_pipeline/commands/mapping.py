"""`autonomos mapping suggest`: suggest canonical fields for a CSV / JSON / JSONL / Parquet file."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any, TextIO

ENTITIES = ("account", "opportunity", "contact")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `mapping` command group (with `suggest`) to the console script's subparsers."""
    mapping = subparsers.add_parser("mapping", help="schema mapping onto the canonical model")
    commands = mapping.add_subparsers(dest="mapping_command", required=True)
    suggest = commands.add_parser("suggest", help="suggest canonical fields for a file's columns")
    suggest.add_argument("--entity", required=True, choices=ENTITIES)
    suggest.add_argument("--input", required=True, type=Path, help="CSV, JSON array, JSONL or Parquet file")
    suggest.add_argument("--format", choices=("json", "table"), default="table")
    suggest.add_argument("--tenant", default=None, help="tenant whose approved mappings (memory) to use")
    suggest.set_defaults(func=run_suggest)


def _quiet() -> None:
    """Keep stdout for the result: offline model, no progress bars, library logs to stderr at WARNING."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")


def _json_payload(result: Any) -> dict[str, Any]:
    """The documented JSON shape (plus the engine's extra counters)."""
    data: dict[str, Any] = result.to_json_dict()
    return {
        "entity": data["entity"],
        "fields": [
            {k: f[k] for k in ("source_field", "canonical_field", "confidence", "decision", "alternatives")}
            for f in data["fields"]
        ],
        "coverage": data["coverage"],
        "auto_threshold": data["auto_threshold"],
        "llm_calls": data["llm_calls"],
        "llm_calls_saved": data["llm_calls_saved"],
    }


def _write_table(result: Any, out: TextIO) -> None:
    """A human-readable table."""
    rows = [("source field", "canonical field", "confidence", "decision", "alternatives")]
    for f in result.fields:
        alts = ", ".join(f"{name} {score:.2f}" for name, score in f.alternatives[:3])
        rows.append((f.source_field, f.canonical_field or "-", f"{f.confidence:.3f}", f.decision, alts))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for r in rows:
        out.write("  ".join(c.ljust(w) for c, w in zip(r[:4], widths, strict=True)) + "  " + r[4] + "\n")
    auto = sum(1 for f in result.fields if f.decision == "auto")
    out.write(
        f"\n{result.entity}: {auto}/{len(result.fields)} auto at threshold {result.auto_threshold:.3f}; "
        f"memory coverage {result.coverage:.0%}\n"
    )


def run_suggest(args: argparse.Namespace) -> int:
    """Profile the input file and print the engine's suggestion."""
    _quiet()
    from autonomos_pipeline.dcl.mapping import MappingEngine, NumpyMemory, read_records, schema_from_records

    path: Path = args.input
    if not path.is_file():
        sys.stderr.write(f"error: no such file: {path}\n")
        return 2
    try:
        records = read_records(path)
    except (ValueError, json.JSONDecodeError, OSError) as exc:
        sys.stderr.write(f"error: cannot read {path}: {exc}\n")
        return 2
    if not records:
        sys.stderr.write(f"error: {path} has no records\n")
        return 2
    schema = schema_from_records(records, stream=path.stem)
    if args.tenant:  # the tenant's approvals live where the platform keeps them (serving store, or Pinecone)
        from autonomos_pipeline.dcl.mappings import mapping_engine
        from autonomos_pipeline.dcl.store import upgrade

        upgrade()
        engine = mapping_engine()
    else:
        engine = MappingEngine(memory=NumpyMemory())
    result = engine.suggest(schema, args.entity, tenant_id=args.tenant)
    if args.format == "json":
        sys.stdout.write(json.dumps(_json_payload(result), ensure_ascii=False) + "\n")
    else:
        _write_table(result, sys.stdout)
    sys.stdout.flush()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run `mapping ...` on its own (python -m autonomos_pipeline.commands.mapping suggest ...)."""
    parser = argparse.ArgumentParser(prog="autonomos")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["mapping", *(argv if argv is not None else sys.argv[1:])])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())

"""Fit the mapping scorer on the whole development set and write autonomos_pipeline/dcl/mapping/params.json."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from autonomos_pipeline.dcl.mapping import MappingEngine, NumpyMemory
from autonomos_pipeline.dcl.mapping.scorer import PARAMS_PATH
from autonomos_pipeline.dcl.mapping.training import featurize, fit_params, load_devset

DATA = Path(__file__).parent / "data"


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    engine = MappingEngine(memory=NumpyMemory())
    tables = featurize(engine, load_devset(DATA))
    params = fit_params(tables, meta={"fitted_by": "bench/devset/fit_params.py"})
    PARAMS_PATH.write_text(json.dumps(params.to_json(), indent=1) + "\n", encoding="utf-8")
    print(json.dumps(params.to_json(), indent=1))


if __name__ == "__main__":
    main()

"""The published JSON Schema files of the exchange records (``trade/schemas/<kind>.v<version>.json``).

They are the models' own schemas (:mod:`trade.records`, draft 2020-12 as pydantic writes them) with an
``$id`` and the schema version; ``tests/test_trade_records.py`` checks the files equal what the models
say, and ``python -m trade.json_schema`` rewrites them after a change to a model.
"""

from __future__ import annotations

import json
from importlib.resources import files
from pathlib import Path
from typing import Any

from trade.records import RECORD_MODELS, SCHEMA_VERSION

SCHEMA_DIR = Path(str(files("trade") / "schemas"))
BASE_ID = "https://cbec-logistics.example/schemas/trade"


def file_name(kind: str) -> str:
    """``orders.v1.0.json``: the file of a record kind's schema."""
    return f"{kind}.v{SCHEMA_VERSION}.json"


def record_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema of record ``kind`` (a key of :data:`trade.records.RECORD_MODELS`)."""
    schema = RECORD_MODELS[kind].model_json_schema(mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{BASE_ID}/{file_name(kind)}",
            "x-schema-version": SCHEMA_VERSION, **schema}


def render(kind: str) -> str:
    """The file's text (sorted keys, two-space indent, UTF-8 kept readable, a final newline)."""
    return json.dumps(record_schema(kind), ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def write_all(folder: Path = SCHEMA_DIR) -> list[Path]:
    """(Re)write every record kind's schema file into ``folder``; returns the paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for kind in RECORD_MODELS:
        path = folder / file_name(kind)
        path.write_text(render(kind), encoding="utf-8")
        paths.append(path)
    return paths


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    for p in write_all():
        print(p)

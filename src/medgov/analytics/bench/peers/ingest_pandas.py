"""Peer for the ingest stage: the loader an analyst would write with orjson and pandas.

Each NDJSON file is parsed line by line with orjson, flattened with ``pandas.json_normalize`` (nested lists
kept as JSON text, which Parquet cannot hold as mixed objects) and written as one Parquet file per resource
type. No versions, no quarantine, no canonical tables. Runs in its own virtual environment:
``python ingest_pandas.py ARGUMENTS_JSON RESULT_PATH``.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import pandas as pd


def load(files: list[Path], out: Path) -> dict[str, int]:
    out.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {}
    for path in files:
        with path.open("rb") as lines:
            records = [orjson.loads(line) for line in lines if line.strip()]
        frame = pd.json_normalize(records)
        for column in frame.columns:
            if frame[column].dtype == object and frame[column].map(lambda value: isinstance(value, list)).any():
                frame[column] = frame[column].map(
                    lambda value: orjson.dumps(value).decode() if isinstance(value, list) else value
                )
        for resource_type, group in frame.groupby("resourceType"):
            target = out / f"{resource_type}.{path.stem}.parquet"
            group.to_parquet(target, index=False)
            counts[str(resource_type)] = counts.get(str(resource_type), 0) + len(group)
    return counts


def cpu_seconds() -> float:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def main() -> None:
    arguments: dict[str, Any] = json.loads(sys.argv[1])
    files = [Path(path) for path in arguments["files"]]
    cpu_started, started = cpu_seconds(), time.perf_counter()
    counts = load(files, Path(arguments["out"]))
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
    output = {"resources": sum(counts.values()), "bytes": sum(path.stat().st_size for path in files)}
    Path(sys.argv[2]).write_text(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "output": output}))


if __name__ == "__main__":
    main()

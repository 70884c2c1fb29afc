"""Put several benchmark results side by side (the p50 / p95 of each scenario).

    .venv/bin/python bench/summary.py bench/results/*.json

Each column is one run of bench/run.py (database and candidate fixes); each cell the median,
over that run's rounds, of the p50 and p95 in milliseconds.
"""

import json
import statistics
import sys
from pathlib import Path


def column(path: Path) -> tuple[str, dict[str, tuple[float, float]]]:
    data = json.loads(path.read_text())
    database = data["info"]["database"].split(" (")[0]
    fixes = data["args"].get("candidates") or "as is"
    title = f"{database}<br>{fixes}"
    cells = {}
    for name in data["runs"][0]["scenarios"]:
        p50 = statistics.median(run["scenarios"][name]["p50"] for run in data["runs"])
        p95 = statistics.median(run["scenarios"][name]["p95"] for run in data["runs"])
        cells[name] = (p50, p95)
    return title, cells


def main(paths: list[str]) -> None:
    columns = [column(Path(path)) for path in sorted(paths)]
    names = list(columns[0][1])
    print("| scenario (p50 / p95 ms) | " + " | ".join(title for title, _ in columns) + " |")
    print("| --- |" + " --- |" * len(columns))
    for name in names:
        cells = [
            f"{cells[name][0]:.0f} / {cells[name][1]:.0f}" if name in cells else "-"
            for _title, cells in columns
        ]
        print(f"| {name} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])

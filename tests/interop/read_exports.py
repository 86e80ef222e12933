#!/usr/bin/env python3
"""Cross-check, outside the default suite, that other tools read what assay writes.

Runs the smoke spec into a temporary store, exports one query as Parquet and CSV, and reads the
exports and the store's own metrics.parquet with pandas (pyarrow) and DuckDB.

    pip install pandas pyarrow duckdb
    cargo build --workspace && python3 tests/interop/read_exports.py target/debug/assay
"""
import subprocess
import sys
import tempfile
from pathlib import Path

import duckdb
import pandas as pd


def main() -> None:
    assay = sys.argv[1] if len(sys.argv) > 1 else "target/debug/assay"
    root = Path(__file__).resolve().parents[2]
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "store"
        out = subprocess.run(
            [assay, "--store", str(store), "run", "-q", str(root / "experiments/smoke.toml")],
            check=True, capture_output=True, text=True,
        )
        run_id = out.stdout.strip().splitlines()[-1]
        sql = "SELECT run_id, step, name, value FROM metrics WHERE name LIKE 'test/%' ORDER BY step, name"
        for fmt in ("parquet", "csv"):
            subprocess.run([assay, "--store", str(store), "query", sql, "--format", fmt,
                            "--out", str(Path(tmp) / f"out.{fmt}")], check=True)
        via_pandas_pq = pd.read_parquet(Path(tmp) / "out.parquet")
        via_pandas_csv = pd.read_csv(Path(tmp) / "out.csv")
        via_duckdb = duckdb.sql(f"SELECT * FROM read_parquet('{Path(tmp) / 'out.parquet'}')").df()
        raw = pd.read_parquet(store / run_id / "metrics.parquet")
        assert list(via_pandas_pq.columns) == ["run_id", "step", "name", "value"], via_pandas_pq.columns
        assert len(via_pandas_pq) == len(via_pandas_csv) == len(via_duckdb) > 0
        assert (via_pandas_pq["value"].to_numpy() == via_duckdb["value"].to_numpy()).all()
        assert abs(via_pandas_pq["value"] - via_pandas_csv["value"]).max() < 1e-9
        assert set(raw.columns) == {"step", "name", "value"} and len(raw) > len(via_pandas_pq)
        print(f"pandas {pd.__version__} and duckdb {duckdb.__version__} read {len(via_pandas_pq)} exported rows "
              f"and {len(raw)} rows of {run_id}/metrics.parquet")


if __name__ == "__main__":
    main()

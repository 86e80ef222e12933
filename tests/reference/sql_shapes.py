#!/usr/bin/env python3
"""DuckDB's answers to SQL queries over the tables of an assay store, exported as Parquet.

    python3 tests/reference/sql_shapes.py DIR < queries.json > answers.json

DIR holds runs.parquet, metrics.parquet and final_metrics.parquet (written by
`assay query "SELECT * FROM runs" --format parquet --out DIR/runs.parquet` and so on); standard
input is a JSON list of SQL strings; standard output is a JSON list with, per query, its rows as
lists (in DuckDB's order; the test sorts both sides) or {"error": message}. Used by
tests/sql_shapes.rs to check that `assay query` answers every join shape as DuckDB does. Needs
the `duckdb` Python package (.ci/run installs it).
"""
import json
import math
import sys

import duckdb


def cell(v):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return str(v)
    if isinstance(v, (int, float, str, bool)) or v is None:
        return v
    return str(v)


def main():
    folder = sys.argv[1]
    con = duckdb.connect()
    for table in ("runs", "metrics", "final_metrics"):
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{folder}/{table}.parquet')"
        )
    answers = []
    for sql in json.load(sys.stdin):
        try:
            rows = con.execute(sql).fetchall()
            answers.append([[cell(v) for v in row] for row in rows])
        except duckdb.Error as e:
            answers.append({"error": str(e)})
    json.dump(answers, sys.stdout)


if __name__ == "__main__":
    main()

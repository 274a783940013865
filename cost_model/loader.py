"""Read a trace CSV file (SPEC §1) into a DuckDB table of a `TraceSet`."""

from __future__ import annotations

import duckdb

from cost_model.traces import (
    INT_COLUMNS,
    KNOWN_COLUMNS,
    TraceSet,
    attr_column,
    new_table_name,
    quote_ident,
)


def connect() -> duckdb.DuckDBPyConnection:
    """A private in-memory DuckDB database, in UTC."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def load_traces(path, *, name: str | None = None, con=None) -> TraceSet:
    """Load a trace CSV file into a new table.

    TODO(full SPEC §1 validation): this first version reads well-formed files only.
    """
    con = con or connect()
    source = name or str(path)
    table = new_table_name()
    cur = con.cursor()
    raw = cur.sql(
        "SELECT * FROM read_csv(?, all_varchar=true, header=true, delim=',', quote='\"')",
        params=[str(path)],
    )
    cols = {c.strip().lower(): c for c in raw.columns}
    attributes = [c.strip() for c in raw.columns if c.strip().lower() not in KNOWN_COLUMNS]

    def text(c):
        return f"NULLIF(trim({quote_ident(cols[c])}), '')" if c in cols else "NULL"

    def ts(c):
        if c not in cols:
            return "CAST(NULL AS BIGINT)"
        v = text(c)
        return (
            f"CASE WHEN TRY_CAST({v} AS DOUBLE) IS NOT NULL "
            f"THEN CAST(round(CAST({v} AS DOUBLE) * 1e6) AS BIGINT) "
            f"ELSE epoch_us(CAST({v} AS TIMESTAMPTZ)) END"
        )

    select = [
        "CAST(row_number() OVER () + 1 AS BIGINT) AS line_no",
        f"{text('run_id')} AS run_id",
        f"{text('span_id')} AS span_id",
        f"{text('parent_span_id')} AS parent_span_id",
        f"coalesce({text('agent_id')}, '') AS agent_id",
        f"lower({text('kind')}) AS kind",
        f"{text('name')} AS name",
        f"{ts('start_time')} AS start_us",
        f"{ts('end_time')} AS end_us",
    ]
    select += [f"CAST(CAST({text(c)} AS DOUBLE) AS BIGINT) AS {c}" for c in INT_COLUMNS]
    select.append(f"CAST({text('cost_usd')} AS DOUBLE) AS cost_usd")
    select.append(
        f"CASE WHEN lower({text('success')}) IN ('true','1','yes') THEN true "
        f"WHEN lower({text('success')}) IN ('false','0','no') THEN false END AS success"
    )
    select += [
        f"{quote_ident(cols[a.lower()])} AS {quote_ident(attr_column(a))}" for a in attributes
    ]
    cur.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT {', '.join(select)} FROM raw")
    cur.close()
    return TraceSet(con, table, source, attributes, [])

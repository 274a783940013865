"""Run traces in DuckDB: load a CSV of spans (SPEC §1) into a typed table.

The table a `TraceSet` owns has these columns (one row per span):

    line_no             BIGINT   line of the file where the row starts (the header is line 1)
    run_id, span_id     VARCHAR  never NULL
    parent_span_id      VARCHAR  NULL when unknown
    agent_id            VARCHAR  never NULL; '' is the run's main agent
    kind                VARCHAR  'llm', 'tool', 'snapshot' or 'other' (lower case)
    name                VARCHAR  NULL when unknown
    start_us, end_us    BIGINT   microseconds since the Unix epoch (UTC); NULL when unknown
    input_tokens, cached_input_tokens, cache_write_tokens, output_tokens, bytes
                        BIGINT   NULL when unknown
    cost_usd            DOUBLE   NULL when unknown
    success             BOOLEAN  the row's own cell; NULL when empty
    "attr:<name>"       VARCHAR  one per attribute column (any other column of the file)
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

import duckdb

from cost_model.errors import InputError

KINDS = ("llm", "tool", "snapshot", "other")
TEXT_COLUMNS = ("run_id", "span_id", "parent_span_id", "agent_id", "kind", "name")
TIME_COLUMNS = ("start_time", "end_time")
INT_COLUMNS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "bytes",
)
KNOWN_COLUMNS = TEXT_COLUMNS + TIME_COLUMNS + INT_COLUMNS + ("cost_usd", "success")
REQUIRED_COLUMNS = ("run_id", "span_id", "kind")
ATTR_PREFIX = "attr:"

_table_ids = itertools.count(1)


def quote_ident(name: str) -> str:
    """Quote a DuckDB identifier (a table or column name)."""
    return '"' + name.replace('"', '""') + '"'


def attr_column(attribute: str) -> str:
    """The table column that holds an attribute of the file."""
    return ATTR_PREFIX + attribute


@dataclass
class TraceSet:
    """A loaded data set of spans: one DuckDB table, plus what loading it found.

    The connection may be shared by several data sets (each has its own table). Every query
    runs on its own cursor, so a data set can be read from several threads.
    """

    con: duckdb.DuckDBPyConnection
    table: str
    source: str
    """The file name the spans came from (for messages)."""
    attributes: list[str] = field(default_factory=list)
    """Names of the attribute columns, as in the file's header."""
    warnings: list[str] = field(default_factory=list)
    """One sentence per warning of SPEC §1, as loading found them."""
    where: dict[str, str] = field(default_factory=dict)
    """The filters that made this data set from the file (column → value); empty for all spans."""
    success_column: bool = True
    """Whether the file has a success column."""
    outcomes_recorded: bool | None = None
    """Whether any run of the file has a success value (SPEC §1: with none, every run counts as
    completed). A filtered data set keeps its file's answer, so that runs whose outcome was not
    recorded stay unknown. None: judge by this data set's own spans."""

    def records_outcomes(self) -> bool:
        """Whether runs without a success value are unknown (else every run is completed)."""
        if self.outcomes_recorded is not None:
            return self.outcomes_recorded
        return bool(self.sql("SELECT count(success) > 0 FROM {t}")[0][0])

    @property
    def ref(self) -> str:
        """The quoted table name, to put in SQL."""
        return quote_ident(self.table)

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for one caller (DuckDB connections are not shared by threads)."""
        return self.con.cursor()

    def sql(self, query: str, params: list | dict | None = None) -> list[tuple]:
        """Run a query on a fresh cursor and return all rows. `{t}` in the query is the table."""
        cur = self.cursor()
        try:
            return cur.execute(query.replace("{t}", self.ref), params or []).fetchall()
        finally:
            cur.close()

    def df(self, query: str, params: list | dict | None = None):
        """Run a query on a fresh cursor and return a (small) pandas DataFrame."""
        cur = self.cursor()
        try:
            return cur.execute(query.replace("{t}", self.ref), params or []).df()
        finally:
            cur.close()

    @property
    def span_count(self) -> int:
        return self.sql("SELECT count(*) FROM {t}")[0][0]

    def values(self, column: str, limit: int = 200) -> list[str]:
        """The distinct known values of a column or attribute, sorted (for filter choices)."""
        col = self._column(column)
        rows = self.sql(
            f"SELECT DISTINCT CAST({quote_ident(col)} AS VARCHAR) v FROM {{t}} "
            "WHERE v IS NOT NULL ORDER BY v LIMIT ?",
            [limit],
        )
        return [r[0] for r in rows]

    def _where_clause(self, col: str, column: str, value: str) -> tuple[str, list]:
        """SQL that keeps the spans whose column `col` holds `value`, read as a cell."""
        from cost_model import validation as v

        ref, text = quote_ident(col), value.strip(" \t\r\n")
        if col == "agent_id":
            return f"{ref} = ?", [text]
        if not text:
            return f"{ref} IS NULL", []
        convert = {"start_us": v.time_sql, "end_us": v.time_sql, "cost_usd": v.number_sql,
                   "success": v.bool_sql, "kind": lambda x: f"lower({x})"}  # fmt: skip
        convert |= dict.fromkeys(INT_COLUMNS, v.int_sql)
        if col not in convert:
            return f"{ref} = ?", [text]
        reason = v.reason_sql(column.strip().lower(), "$x")
        got, why = self.sql(f"SELECT {convert[col]('$x')}, {reason}", {"x": text})[0]
        if why is not None:
            raise InputError("--where", [f"--where {column}={value}: {text!r} {why}"])
        return f"{ref} = ?", [got]

    def _column(self, column: str) -> str:
        key = column.strip()
        if key.lower() in KNOWN_COLUMNS:
            return {"start_time": "start_us", "end_time": "end_us"}.get(key.lower(), key.lower())
        for attribute in self.attributes:
            if attribute.lower() == key.lower():
                return attr_column(attribute)
        known = ", ".join(list(KNOWN_COLUMNS) + self.attributes)
        raise InputError(
            "--where", [f"--where names column {column!r}, which is not one of: {known}"]
        )

    def filter(self, where: dict[str, str]) -> TraceSet:
        """A new data set of the spans whose columns all have the given values, with the
        warnings of SPEC §1 for those spans alone.

        A value is read as a cell of its column would be (SPEC §1): trimmed, a time in any of
        its forms (`start_time=2026-04-10T01:36:26Z` or epoch seconds), a number by its value
        (`input_tokens=1714.0`), `success=yes`; an empty value keeps the spans where the column
        is unknown (`agent_id=` the main agents). A value the column cannot hold is an error.
        """
        if not where:
            return self
        clauses, params = [], []
        for column, value in where.items():
            clause, param = self._where_clause(self._column(column), column, value)
            clauses.append(clause)
            params += param
        table = f"spans_{next(_table_ids)}"
        cur = self.cursor()
        try:
            cur.execute(
                f"CREATE TABLE {quote_ident(table)} AS SELECT * FROM {self.ref} "
                f"WHERE {' AND '.join(clauses)} ORDER BY line_no",
                params,
            )
        finally:
            cur.close()
        from cost_model.validation import span_warnings

        subset = TraceSet(
            self.con, table, self.source, list(self.attributes), [], {**self.where, **where},
            self.success_column, self.records_outcomes(),
        )  # fmt: skip
        # The warnings describe the spans of this data set, not those of the whole file.
        subset.warnings = span_warnings(subset)
        return subset

    def drop(self) -> None:
        """Drop the table (when the data set is replaced)."""
        cur = self.cursor()
        try:
            cur.execute(f"DROP TABLE IF EXISTS {self.ref}")
        finally:
            cur.close()


def new_table_name() -> str:
    """A table name not used before in this process."""
    return f"spans_{next(_table_ids)}"

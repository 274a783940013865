"""Reading trace files (SPEC §1): conversions, every rejection and every warning."""

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cost_model.errors import InputError
from cost_model.loader import connect, load_traces

DATA = Path(__file__).parent / "data"
SAMPLE = Path(__file__).parent.parent / "data" / "traces" / "sample.csv"
HEADER = "run_id,span_id,kind,start_time,end_time,input_tokens,cached_input_tokens,output_tokens"
T0 = 1775784986  # 2026-04-10T01:36:26Z in epoch seconds
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def load(text: str | bytes, name: str = "t.csv", **kwargs):
    data = text.encode() if isinstance(text, str) else text
    return load_traces(data, name=name, **kwargs)


def problems(text: str | bytes, name: str = "t.csv") -> list[str]:
    with pytest.raises(InputError) as err:
        load(text, name)
    return err.value.problems


def rows(ts, columns: str = "*"):
    return ts.sql(f"SELECT {columns} FROM {{t}} ORDER BY line_no")


def tables(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]


# --- reading ---------------------------------------------------------------------------------


def test_a_full_file_converts_every_column():
    ts = load_traces(DATA / "good" / "spans.csv", name="spans.csv")
    got = rows(ts)
    assert ts.source == "spans.csv"
    assert ts.attributes == ["model_family"]
    assert ts.warnings == []
    assert got[1] == (
        3, "r1", "m1", "root", "", "llm", "kimi-k2.6",
        T0 * 10**6, (T0 + 2.25) * 10**6, 1714, 1500, 0, 77, None, 0.0021, True, "kimi",
    )  # fmt: skip
    # a space instead of T, and epoch seconds, are both UTC
    assert got[2][7:9] == ((T0 + 2.25) * 10**6, (T0 + 3.5) * 10**6)
    assert got[3][13] == 2048 and got[3][15] is True  # bytes; success "yes"
    # +02:00 is converted to UTC; "NA" is text in a text column; " 1 " is true
    assert got[4][4] == "helper" and got[4][7] == T0 * 10**6
    assert got[4][16] == "NA" and got[4][15] is True


def test_table_columns_are_those_the_other_modules_read():
    ts = load("run_id,span_id,kind,Model\nr,s,tool,x\n")
    names = [r[0] for r in ts.sql("SELECT column_name FROM (DESCRIBE {t})")]
    assert names == [
        "line_no", "run_id", "span_id", "parent_span_id", "agent_id", "kind", "name",
        "start_us", "end_us", "input_tokens", "cached_input_tokens", "cache_write_tokens",
        "output_tokens", "bytes", "cost_usd", "success", "attr:Model",
    ]  # fmt: skip


def test_a_byte_order_mark_is_dropped_and_tabs_delimit():
    ts = load_traces(DATA / "good" / "tab_bom.csv")
    assert rows(ts, "run_id, span_id, kind, start_us") == [("r1", "s1", "other", T0 * 10**6)]


def test_semicolons_delimit_when_the_header_has_most_of_them():
    ts = load_traces(DATA / "good" / "semicolon.csv")
    assert ts.attributes == ["note"]
    assert rows(ts, '"attr:note", start_us, end_us, cost_usd') == [
        ("a, b; c", T0 * 10**6, T0 * 10**6 + 1_250_000, 0.5)
    ]


def test_a_tie_between_semicolon_and_tab_goes_to_semicolon():
    ts = load("run_id;span_id;kind;x\ty\tz\tw\nr;s;tool;1\t2\t3\t4\n")
    assert ts.attributes == ["x\ty\tz\tw"]
    assert rows(ts, "kind") == [("tool",)]


def test_a_header_tied_between_comma_and_semicolon_is_read_with_commas():
    # one comma and one semicolon: comma wins, so the columns are "run_id;span_id" and "kind"
    err = problems("run_id;span_id,kind\nr;s,tool\n")
    assert err[0].startswith("t.csv, line 1: the header has no run_id column")


def test_rows_after_a_quoted_newline_keep_their_physical_line():
    ts = load_traces(DATA / "good" / "quoted_newline.csv")
    assert rows(ts, "span_id, line_no") == [("s1", 2), ("s2", 5), ("s3", 6), ("s4", 8)]
    assert rows(ts, "name")[0] == ("first line\nsecond line\nthird line",)


def test_crlf_line_ends_are_not_part_of_the_values():
    ts = load("run_id,span_id,kind,success\r\nr,s,tool,true\r\nr,t,tool,\r\n")
    assert rows(ts, "line_no, success") == [(2, True), (3, None)]


def test_a_file_mixing_crlf_and_lf_line_breaks_loads():
    ts = load("run_id,span_id,kind,name\r\nr1,s1,llm,x\nr1,s2,llm,y\r\n")
    assert rows(ts, "line_no, span_id, name") == [(2, "s1", "x"), (3, "s2", "y")]


def test_a_bad_cell_after_mixed_line_breaks_names_its_line():
    got = problems("run_id,span_id,kind\r\nr1,s1,llm\nr1,s2,banana\r\n")
    assert got == [
        "t.csv, line 3, column kind: 'banana' is not a kind (one of llm, tool, snapshot, other)"
    ]


def test_a_row_of_several_megabytes_loads():
    prompt = "x" * 3_000_000
    ts = load(f"run_id,span_id,kind,prompt\nr1,s1,llm,{prompt}\nr1,s2,llm,y\n")
    assert rows(ts, 'line_no, length("attr:prompt")') == [(2, 3_000_000), (3, 1)]


def test_integral_decimals_are_counts():
    ts = load("run_id,span_id,kind,input_tokens,output_tokens,bytes\nr,s,llm,1714.0,1.5e3,+7\n")
    assert rows(ts, "input_tokens, output_tokens, bytes") == [(1714, 1500, 7)]


def test_the_largest_count_is_two_to_the_63_minus_one():
    ts = load(f"run_id,span_id,kind,input_tokens\nr,s,llm,{2**63 - 1}\n")
    assert rows(ts, "input_tokens") == [(2**63 - 1,)]


def test_epoch_seconds_keep_microseconds():
    ts = load("run_id,span_id,kind,start_time,end_time\nr,s,tool,1775784986.1234565,0\n")
    assert rows(ts, "start_us, end_us") == [(1775784986123457, 0)]


def test_naive_iso_times_are_utc_whatever_the_connection_time_zone():
    con = connect()
    con.execute("SET TimeZone = 'America/New_York'")
    ts = load("run_id,span_id,kind,start_time\nr,s,tool,2026-04-10T01:36:26\n", con=con)
    assert rows(ts, "start_us") == [(T0 * 10**6,)]


def test_kind_is_case_insensitive_and_stored_lower_case():
    ts = load("run_id,span_id,kind\nr,a,LLM\nr,b,Tool\nr,c, SnapShot \nr,d,other\n")
    assert [r[0] for r in rows(ts, "kind")] == ["llm", "tool", "snapshot", "other"]


@pytest.mark.parametrize(
    ("cell", "value"),
    [("true", True), ("TRUE", True), ("1", True), ("Yes", True), ("false", False),
     ("0", False), ("no", False), ("", None)],
)  # fmt: skip
def test_success_values(cell, value):
    ts = load(f"run_id,span_id,kind,success\nr,s,tool,{cell}\n")
    assert rows(ts, "success") == [(value,)]


def test_column_names_match_case_insensitively_after_trimming():
    ts = load(" RUN_ID ,Span_Id,  Kind\nr,s,tool\n")
    assert rows(ts, "run_id, span_id, kind") == [("r", "s", "tool")]
    assert ts.attributes == []


def test_attributes_named_like_internal_columns_are_kept_apart():
    ts = load("run_id,span_id,kind,line_no,start_us,attr:x,bad\nr,s,tool,99,5,y,z\n")
    assert ts.attributes == ["line_no", "start_us", "attr:x", "bad"]
    assert rows(ts, 'line_no, start_us, "attr:line_no", "attr:start_us", "attr:attr:x"') == [
        (2, None, "99", "5", "y")
    ]
    assert [r[0] for r in rows(ts.filter({"line_no": "99"}), "span_id")] == ["s"]


def test_a_header_alone_is_an_empty_data_set():
    ts = load("run_id,span_id,kind\n")
    assert ts.span_count == 0
    assert ts.warnings == []


def test_a_header_without_a_line_break_is_an_empty_data_set():
    assert load("run_id,span_id,kind").span_count == 0


def test_loading_adds_one_table_to_the_connection():
    con = connect()
    ts = load("run_id,span_id,kind\nr,s,tool\n", con=con)
    assert tables(con) == [ts.table]


# --- rejections ------------------------------------------------------------------------------


def test_a_rejected_file_changes_nothing_in_the_connection():
    con = connect()
    kept = load("run_id,span_id,kind\nr,s,tool\n", con=con)
    for bad in (
        "run_id,span_id,kind\nr,s,nope\n",
        "run_id,span_id,kind\nr,s\n",
        "run_id,span_id,kind\nr,s,tool\nr,s,tool\n",
        "run_id,span_id,kind,success\nr,s,tool,1\nr,t,tool,0\n",
    ):
        with pytest.raises(InputError):
            load(bad, con=con)
    assert tables(con) == [kept.table]


def test_utf16_is_rejected():
    assert problems((DATA / "bad" / "utf16.csv").read_bytes(), "u.csv") == [
        "u.csv is UTF-16 text, not UTF-8: save it as UTF-8"
    ]


def test_a_binary_file_is_rejected():
    err = problems(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "p.csv")
    assert err == [("p.csv, line 3: a NUL byte at byte 8, so this is not UTF-8 CSV text "
                   "(a binary or UTF-16 file?)")]  # fmt: skip


def test_a_byte_that_is_not_utf8_is_named_with_its_line():
    err = problems((DATA / "bad" / "latin1.csv").read_bytes(), "l.csv")
    assert err == ["l.csv, line 3: byte 53 (b'\\xe9\\n') is not UTF-8 text: save the file as UTF-8"]


def test_an_unclosed_quote_is_rejected_with_its_line():
    err = problems((DATA / "bad" / "unclosed_quote.csv").read_bytes(), "q.csv")
    assert err == [
        (
            "q.csv, line 3: a quoted value is not closed, or text follows its closing quote: "
            "'r1,s2,tool,\"never closed\\nr1,s3,tool,x'"
        )
    ]


def test_rows_with_more_or_fewer_fields_are_rejected_with_their_lines():
    err = problems((DATA / "bad" / "field_count.csv").read_bytes(), "f.csv")
    assert err == [
        "f.csv, line 4: 5 fields where the header has 4: 'r1,s2,tool,plain,extra'",
        "f.csv, line 5: 2 fields where the header has 4: 'r1,s3'",
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_rows_with_the_wrong_field_count_name_their_line_after_blank_lines(newline):
    text = newline.join(["run_id,span_id,kind", "r1,s1,llm", "", "", "r1,s2", "r1,s3,llm,x", ""])
    assert problems(text) == [
        "t.csv, line 5: 2 fields where the header has 3: 'r1,s2'",
        "t.csv, line 6: 4 fields where the header has 3: 'r1,s3,llm,x'",
    ]


@pytest.mark.parametrize("text", ["", "\ufeff", "  \n"])
def test_an_empty_file_is_rejected(text):
    assert problems(text) == ["t.csv is empty: it needs at least a header line"]


def test_a_file_whose_first_line_is_not_the_header_is_rejected():
    assert problems("\nrun_id,span_id,kind\n") == [
        "t.csv, line 1: empty, but the header must be the first line"
    ]


def test_a_header_with_a_quoted_newline_moves_the_lines_after_it():
    text = 'run_id,span_id,kind,"my\nnote"\nr,a,tool,x\nr,b,bogus,x\n'
    assert problems(text) == [
        "t.csv, line 4, column kind: 'bogus' is not a kind (one of llm, tool, snapshot, other)"
    ]


def test_a_known_column_named_twice_is_rejected():
    assert problems("run_id,span_id,kind,Kind \nr,s,tool,llm\n") == [
        "t.csv, line 1, column 4: 'Kind' names the column 'kind' (column 3) again"
    ]


def test_a_missing_required_column_is_rejected():
    assert problems("run_id,kind,name\nr,tool,x\n") == [
        (
            "t.csv, line 1: the header has no span_id column "
            "(required: run_id, span_id, kind; found: run_id, kind, name)"
        )
    ]


def test_empty_required_cells_are_rejected():
    assert problems("run_id,span_id,kind\n ,s,tool\nr,,tool\nr,t,\n") == [
        "t.csv, line 2, column run_id: empty, but it is required",
        "t.csv, line 3, column span_id: empty, but it is required",
        "t.csv, line 4, column kind: empty, but it is required",
    ]


def test_a_run_and_span_used_twice_is_rejected():
    assert problems("run_id,span_id,kind\nr,s,tool\nq,s,tool\nr, s ,llm\n") == [
        "t.csv, line 4, column span_id: run_id/span_id r/s was already used on line 2"
    ]


def test_an_unknown_kind_is_rejected_with_the_four_kinds():
    assert problems("run_id,span_id,kind\nr,s,agent\n") == [
        "t.csv, line 2, column kind: 'agent' is not a kind (one of llm, tool, snapshot, other)"
    ]


TIME_HINT = "is not a time (ISO 8601 such as 2026-04-10T01:36:26Z, or Unix epoch seconds)"


@pytest.mark.parametrize(
    ("column", "cell", "why"),
    [
        ("start_time", "yesterday", TIME_HINT),
        ("end_time", "2026-02-30T00:00:00Z", TIME_HINT),
        ("end_time", "infinity", TIME_HINT),
        ("start_time", "1e20", TIME_HINT),
        ("start_time", "2026-04-10T01:36:26+99:99", TIME_HINT),
        ("start_time", "1e12", "is outside the years 0001 to 9999 (UTC)"),
        ("end_time", "-62135596801", "is outside the years 0001 to 9999 (UTC)"),
        ("end_time", "0000-01-01T00:00:00Z", "is outside the years 0001 to 9999 (UTC)"),
        ("end_time", "9999-12-31T23:59:59-01:00", "is outside the years 0001 to 9999 (UTC)"),
        ("input_tokens", "12.5", "is not a whole number"),
        ("input_tokens", "NA", "is not a number"),
        ("output_tokens", "null", "is not a number"),
        ("output_tokens", "NaN", "is not a number"),
        ("output_tokens", "inf", "is not a number"),
        ("output_tokens", "0x10", "is not a number"),
        ("bytes", "1_000", "is not a number"),
        ("bytes", str(2**63), "is out of range (a count is at most 2^63-1)"),
        ("cost_usd", "NaN", "is not a finite decimal number"),
        ("cost_usd", "$1", "is not a finite decimal number"),
        ("success", "maybe", "is not true/false, 1/0 or yes/no"),
    ],
)
def test_cells_that_do_not_parse_are_rejected(column, cell, why):
    assert problems(f"run_id,span_id,kind,{column}\nr,s,llm,{cell}\n") == [
        f"t.csv, line 2, column {column}: {cell!r} {why}"
    ]


@pytest.mark.parametrize("column", ["input_tokens", "output_tokens", "bytes", "cost_usd"])
def test_negative_counts_sizes_and_costs_are_rejected(column):
    assert problems(f"run_id,span_id,kind,{column}\nr,s,llm,-1\n") == [
        f"t.csv, line 2, column {column}: '-1' is negative"
    ]


def test_cached_and_cache_write_tokens_above_input_are_rejected():
    text = (
        "run_id,span_id,kind,input_tokens,cached_input_tokens,cache_write_tokens\n"
        "r,a,llm,10,6,4\nr,b,llm,10,6,5\nr,c,llm,,1,\n"
    )
    assert problems(text) == [
        (
            "t.csv, line 3, column cached_input_tokens: cached_input_tokens + cache_write_tokens "
            "= 6 + 5 is more than input_tokens = 10 (input_tokens includes them; an empty count "
            "is 0 here)"
        ),
        (
            "t.csv, line 4, column cached_input_tokens: cached_input_tokens + cache_write_tokens "
            "= 1 + 0 is more than input_tokens = 0 (input_tokens includes them; an empty count "
            "is 0 here)"
        ),
    ]


def test_cached_and_cache_write_tokens_whose_sum_passes_int64_are_rejected_by_line():
    big = 2**63 - 1
    got = problems(f"run_id,span_id,kind,input_tokens,cached_input_tokens,cache_write_tokens\n"
                   f"r1,s1,llm,{big},{big},1\n")  # fmt: skip
    assert got == [
        (
            f"t.csv, line 2, column cached_input_tokens: cached_input_tokens + cache_write_tokens "
            f"= {big} + 1 is more than input_tokens = {big} (input_tokens includes them; an empty "
            "count is 0 here)"
        )
    ]


def test_two_success_values_in_one_run_are_rejected():
    text = "run_id,span_id,kind,success\nr,a,tool,yes\nr,b,tool,\nr,c,tool,0\nq,a,tool,1\n"
    assert problems(text) == [
        (
            "t.csv, line 4, column success: run r has success true on line 2 and false on line 4 "
            "(one run has one outcome)"
        )
    ]


def test_lines_in_problems_count_quoted_newlines():
    text = 'run_id,span_id,kind,name\nr,a,tool,"x\ny\nz"\nr,b,tool,ok\nr,c,bogus,ok\n'
    assert problems(text) == [
        "t.csv, line 6, column kind: 'bogus' is not a kind (one of llm, tool, snapshot, other)"
    ]


def test_at_most_twenty_problems_are_listed_and_the_rest_counted():
    text = "run_id,span_id,kind\n" + "".join(f"r,{i},bad\n" for i in range(25))
    with pytest.raises(InputError) as err:
        load(text)
    lines = err.value.message.splitlines()
    assert lines[0] == "t.csv was rejected:"
    assert lines[1] == "- t.csv, line 2, column kind: 'bad' is not a kind " + (
        "(one of llm, tool, snapshot, other)"
    )
    assert len(lines) == 22 and lines[-1] == "- and 5 more problems"


# --- warnings --------------------------------------------------------------------------------


def test_no_success_column_counts_every_run_as_completed():
    ts = load("run_id,span_id,kind,start_time,end_time\nr,a,tool,1,2\nq,a,tool,1,2\n")
    assert ts.warnings == ["No success column: all 2 runs (2 spans) count as completed."]


def test_a_success_column_without_values_counts_every_run_as_completed():
    ts = load("run_id,span_id,kind,start_time,end_time,success\nr,a,tool,1,2,\n")
    assert ts.warnings == ["No success value: all 1 run (1 span) count as completed."]


def test_spans_that_end_before_they_start_are_named():
    ts = load(HEADER + ",success\n" + "".join(f"r,{i},tool,5,{i},,,,true\n" for i in range(8)))
    assert ts.warnings == [
        (
            "Spans that end before they start (a clock that stepped back): 5 spans "
            "(r/0, r/1, r/2, r/3, r/4). Their instants count for their session's extent, but they "
            "add no busy time and are left out of latency statistics."
        )
    ]


def test_spans_with_one_time_are_named():
    ts = load(HEADER + ",success\nr,a,tool,1,,,,,true\nr,b,tool,,2,,,,true\nr,c,tool,1,2,,,,true\n")
    assert ts.warnings == [
        (
            "Spans with only one of start_time and end_time: 2 spans (r/a, r/b). "
            "That instant counts for the session's extent, nothing else."
        )
    ]


def test_sessions_without_a_known_time_are_named():
    text = (
        "run_id,span_id,agent_id,kind,start_time,end_time,success\n"
        "r,a,,tool,,,1\nr,b,,tool,,,1\nr,c,sub,tool,,,1\nq,a,,tool,3,4,1\nq,b,sub,tool,,,1\n"
    )
    assert load(text).warnings == [
        (
            "Sessions with no known time: 3 sessions, 4 spans (r/a, r/b, r/c, q/b). "
            "They are left out of runtime, concurrency and time-billed costs."
        )
    ]


def test_llm_spans_without_token_counts_are_named():
    ts = load(HEADER + ",success\nr,a,llm,1,2,,,,1\nr,b,llm,1,2,5,,,1\nr,c,llm,1,2,,,0,1\n")
    assert ts.warnings == [
        "llm spans without token counts: 1 span (r/a). They count as zero tokens."
    ]


def test_token_counts_and_bytes_on_other_kinds_are_named():
    text = (
        "run_id,span_id,kind,start_time,end_time,output_tokens,bytes,success\n"
        "r,a,tool,1,2,5,,1\nr,b,snapshot,1,2,,9,1\nr,c,other,1,2,,9,1\nr,d,llm,1,2,3,,1\n"
    )
    assert load(text).warnings == [
        "Token counts on spans that are not llm: 1 span (r/a). The counts are ignored.",
        "bytes on spans that are not snapshot: 1 span (r/c). The bytes are ignored.",
    ]


def test_a_filtered_data_set_warns_about_its_own_spans():
    text = (
        "run_id,span_id,kind,start_time,end_time,source,success\nr,a,llm,1,2,x,1\nq,a,tool,1,,y,\n"
    )
    ts = load(text)
    assert len(ts.warnings) == 2
    assert ts.filter({"source": "x"}).warnings == [
        "llm spans without token counts: 1 span (r/a). They count as zero tokens."
    ]
    # The file records outcomes, so run q stays unknown: no "count as completed" warning.
    assert ts.filter({"source": "y"}).warnings == [
        (
            "Spans with only one of start_time and end_time: 1 span (q/a). "
            "That instant counts for the session's extent, nothing else."
        )
    ]


def test_a_filtered_file_without_success_values_still_counts_every_run_as_completed():
    ts = load("run_id,span_id,kind,source\nr,a,llm,x\nq,a,tool,y\n")
    assert ts.filter({"source": "y"}).warnings[0] == (
        "No success column: all 1 run (1 span) count as completed."
    )


def test_the_bundled_sample_loads_with_its_warnings():
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        spans = list(csv.DictReader(f))
    one_time = [s for s in spans if (s["start_time"] == "") != (s["end_time"] == "")]
    no_tokens = [
        s for s in spans
        if s["kind"] == "llm" and not (s["input_tokens"] or s["cached_input_tokens"]
                                       or s["output_tokens"])
    ]  # fmt: skip
    sessions = defaultdict(list)
    for s in spans:
        sessions[s["run_id"]].append(s)
    untimed = [
        r for r, ss in sessions.items() if not any(s["start_time"] or s["end_time"] for s in ss)
    ]

    untimed_spans = [s for s in spans if s["run_id"] in untimed]
    ts = load_traces(SAMPLE, name="sample.csv")

    def named(chosen):
        return ", ".join(f"{s['run_id']}/{s['span_id']}" for s in chosen[:5]) + ", …"

    assert ts.span_count == len(spans) == 23_140
    assert ts.attributes == ["source", "duration_s"]
    assert ts.warnings == [
        (
            f"Spans with only one of start_time and end_time: {len(one_time)} spans "
            f"({named(one_time)}). That instant counts for the session's extent, nothing else."
        ),
        (
            f"llm spans without token counts: {len(no_tokens)} spans ({named(no_tokens)}). "
            "They count as zero tokens."
        ),
        (
            f"Sessions with no known time: {len(untimed)} sessions, {len(untimed_spans)} spans "
            f"({named(untimed_spans)}). They are left out of runtime, concurrency and "
            "time-billed costs."
        ),
    ]
    # tau2 writes naive times: they are read as UTC
    first_tau2 = next(s for s in spans if s["run_id"].startswith("tau2") and s["start_time"])
    expected = datetime.fromisoformat(first_tau2["start_time"]).replace(tzinfo=UTC)
    got = ts.sql(
        "SELECT start_us FROM {t} WHERE run_id = ? AND span_id = ?",
        [first_tau2["run_id"], first_tau2["span_id"]],
    )
    assert got == [(round(expected.timestamp() * 10**6),)]


# --- any valid table loads back ----------------------------------------------------------------

_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\r\x00", exclude_categories=["Cs"]),
    min_size=1,
    max_size=8,
).filter(lambda s: s == s.strip(" \t\r\n") and s != "")
_count_value = st.none() | st.integers(0, 2**63 - 1)
_time_us = st.none() | st.integers(-(10**15), 4 * 10**15)


@st.composite
def _span_tables(draw):
    runs = draw(st.lists(_text, min_size=1, max_size=3, unique=True))
    outcome = {r: draw(st.sampled_from([True, False, None])) for r in runs}
    spans = []
    for run in runs:
        for span in draw(st.lists(_text, min_size=1, max_size=4, unique=True)):
            total = draw(st.none() | st.integers(0, 10**12))
            cached = draw(st.none() | st.integers(0, total or 0))
            spans.append({
                "run_id": run, "span_id": span,
                "kind": draw(st.sampled_from(["llm", "tool", "snapshot", "other"])),
                "name": draw(st.none() | _text),
                "start_us": draw(_time_us), "end_us": draw(_time_us),
                "input_tokens": total, "cached_input_tokens": cached,
                "output_tokens": draw(_count_value), "bytes": draw(_count_value),
                "success": outcome[run] if draw(st.booleans()) else None,
            })  # fmt: skip
    return spans


def _time_cell(us, as_epoch):
    if us is None:
        return ""
    if as_epoch:
        sign, us = ("-", -us) if us < 0 else ("", us)
        return f"{sign}{us // 10**6}.{us % 10**6:06d}"
    return (EPOCH + timedelta(microseconds=us)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_span_tables(), st.sampled_from([",", ";", "\t"]), st.booleans())
def test_any_valid_table_written_as_csv_loads_back_unchanged(spans, delimiter, as_epoch):
    columns = ["run_id", "span_id", "kind", "name", "start_time", "end_time", "input_tokens",
               "cached_input_tokens", "output_tokens", "bytes", "success"]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(columns)
    lines, line = [], 2
    for s in spans:
        start = out.tell()
        writer.writerow(
            [s["run_id"], s["span_id"], s["kind"].upper(), s["name"] or "",
             _time_cell(s["start_us"], as_epoch), _time_cell(s["end_us"], as_epoch)]
            + ["" if s[c] is None else s[c] for c in columns[6:10]]
            + ["" if s["success"] is None else str(s["success"]).lower()]
        )  # fmt: skip
        lines.append(line)
        line += out.getvalue()[start:].count("\n")

    ts = load(out.getvalue())

    got = rows(ts, "line_no, run_id, span_id, kind, name, start_us, end_us, input_tokens, "
                   "cached_input_tokens, output_tokens, bytes, success")  # fmt: skip
    assert got == [
        (n, s["run_id"], s["span_id"], s["kind"], s["name"], s["start_us"], s["end_us"],
         s["input_tokens"], s["cached_input_tokens"], s["output_tokens"], s["bytes"],
         s["success"])
        for n, s in zip(lines, spans, strict=True)
    ]  # fmt: skip


def test_blank_lines_are_skipped_but_still_counted():
    text = 'run_id,span_id,kind,name\n\nr,a,tool,"x\n\ny"\n\n\nr,b,tool,z\n\n'
    assert rows(load(text), "span_id, line_no") == [("a", 3), ("b", 8)]
    assert problems(text.replace("tool,z", "bogus,z")) == [
        "t.csv, line 8, column kind: 'bogus' is not a kind (one of llm, tool, snapshot, other)"
    ]


def test_a_missing_file_is_an_input_error(tmp_path):
    with pytest.raises(InputError) as err:
        load_traces(tmp_path / "none.csv", name="none.csv")
    assert err.value.problems == ["none.csv cannot be read: No such file or directory"]

"""The command line as scripts use it: formats, filters and exit codes (SPEC §5)."""

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

from cost_model.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "traces" / "sample.csv"
PLAN = ROOT / "data" / "plans" / "kimi-k2.6-tokens.yaml"

TWO_RUNS = """run_id,span_id,kind,name,start_time,end_time,input_tokens,output_tokens,success,team
r1,a,llm,kimi-k2.6,0,10,1000,100,true,=HYPERLINK("x")
r1,b,tool,bash,10,12,,,true,=HYPERLINK("x")
r2,a,llm,kimi-k2.6,5,6,2000,0,false,blue
"""


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run_json(capsys, *argv):
    assert main([*argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_metrics_json_has_the_spec_keys(capsys, tmp_path):
    out = run_json(capsys, "metrics", write(tmp_path, TWO_RUNS))

    assert list(out) == [
        "runs", "completed_runs", "failed_runs", "unknown_runs", "sessions", "spans", "window",
        "runtime_s", "active_s", "idle_s", "concurrency", "llm", "tools", "snapshots",
        "recorded_cost_usd", "warnings",
    ]  # fmt: skip
    assert (out["runs"], out["completed_runs"], out["failed_runs"]) == (2, 1, 1)
    assert out["window"] == {"start": "1970-01-01T00:00:00Z", "end": "1970-01-01T00:00:12Z",
                             "seconds": 12.0}  # fmt: skip
    # r1 runs 0–12 s, r2 5–6 s: 13 s of runtime over a 12 s window.
    assert out["concurrency"]["average"] == 13 / 12
    assert out["concurrency"]["peak"] == 2
    assert out["llm"]["input_tokens"] == 3000


def test_where_keeps_only_matching_spans_and_they_are_the_data_set(capsys, tmp_path):
    path = write(tmp_path, TWO_RUNS)

    out = run_json(capsys, "metrics", path, "--where", "team=blue")

    assert (out["runs"], out["spans"], out["completed_runs"]) == (1, 1, 0)
    assert out["window"]["seconds"] == 1.0


def test_where_on_a_known_column_and_an_attribute_must_all_hold(capsys):
    out = run_json(
        capsys,
        "metrics",
        str(SAMPLE),
        "--where",
        "source=mini-swe-agent/deepseek-chat/swebench-lite-dev",
        "--where",
        "kind=TOOL",
    )

    # The source's README: 1,843 tool spans in 23 runs.
    assert (out["spans"], out["runs"], out["tools"]["calls"]) == (1843, 23, 1843)


def test_a_column_that_does_not_exist_is_an_error_naming_it(capsys, tmp_path):
    assert main(["metrics", write(tmp_path, TWO_RUNS), "--where", "colour=blue"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("--where was rejected:\n") and "'colour'" in err and "team" in err


def test_per_run_metrics_say_the_warnings_and_the_attributes_on_stderr(capsys, tmp_path):
    path = write(tmp_path, "run_id,span_id,kind,team\nr1,a,llm,blue\n")

    assert main(["metrics", path, "--per-run", "--format", "json"]) == 0

    assert capsys.readouterr().err == (
        "note: attribute columns, kept as text (--where filters by them): team\n"
        "warning: No success column: all 1 run (1 span) count as completed.\n"
        "warning: llm spans without token counts: 1 span (r1/a). They count as zero tokens.\n"
        "warning: Sessions with no known time: 1 session, 1 span (r1/a). They are left out of "
        "runtime, concurrency and time-billed costs.\n"
    )


def test_where_reads_its_value_as_a_cell_of_the_column(capsys, tmp_path):
    path = write(tmp_path, TWO_RUNS)

    def spans(*where):
        return run_json(capsys, "metrics", path, *[f"--where={w}" for w in where])["spans"]

    # r2/a starts at 5 s: as epoch seconds, an integral decimal or ISO 8601 alike.
    assert spans("start_time=5") == spans("start_time=5.0") == 1
    assert spans("start_time=1970-01-01T00:00:05Z") == 1
    assert spans("input_tokens=1000.0") == spans("input_tokens=1e3") == 1
    assert spans("success=YES") == 2 and spans("success=0") == 1
    # An empty value keeps the spans where the column is unknown; values are trimmed.
    assert spans("input_tokens=") == 1 and spans("name= bash ") == 1


def test_a_where_value_the_column_cannot_hold_is_an_error(capsys, tmp_path):
    assert main(["metrics", write(tmp_path, TWO_RUNS), "--where", "success=maybe"]) == 2

    assert capsys.readouterr().err == (
        "--where was rejected:\n- --where success=maybe: 'maybe' is not true/false, 1/0 or yes/no\n"
    )


def test_per_run_csv_has_one_row_per_run_and_escapes_formulas(capsys, tmp_path):
    assert main(["metrics", write(tmp_path, TWO_RUNS), "--per-run", "--format", "csv"]) == 0

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["run_id"] for r in rows] == ["r1", "r2"]
    assert [r["outcome"] for r in rows] == ["completed", "failed"]


def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(capsys, tmp_path):
    path = write(tmp_path, "run_id,span_id,kind,name\n=1+1,s,tool,@cmd\n")

    assert main(["metrics", path, "--per-run", "--format", "csv"]) == 0

    out = capsys.readouterr().out
    assert "'=1+1" in out and "\n=1+1" not in out


def test_a_rejected_file_exits_2_with_line_column_and_value_and_no_traceback(tmp_path):
    path = write(tmp_path, "run_id,span_id,kind\nr1,s1,llm\nr1,s2,bogus\n", "bad.csv")

    done = subprocess.run(
        [sys.executable, "-m", "cost_model", "metrics", path],
        check=False,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )

    assert done.returncode == 2
    assert done.stdout == ""
    assert "line 3, column kind: 'bogus'" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_file_exits_2(capsys, tmp_path):
    assert main(["metrics", str(tmp_path / "nope.csv")]) == 2
    assert "nope.csv" in capsys.readouterr().err


def test_price_prints_one_row_per_plan_in_table_format(capsys, tmp_path):
    assert main(["price", write(tmp_path, TWO_RUNS), "--plan", str(PLAN), "--plan", str(PLAN)]) == 0

    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("name")


def test_price_json_per_completed_task_is_total_over_completed_runs(capsys, tmp_path):
    out = run_json(capsys, "price", write(tmp_path, TWO_RUNS), "--plan", str(PLAN))

    plan = out["plans"][0]
    # Kimi K2.6 tokens: 3000 uncached input at 0.95 and 100 output at 4.00 per 10^6.
    assert abs(plan["components"]["tokens"] - (3000 * 0.95 + 100 * 4.0) / 1e6) < 1e-15
    assert plan["per_completed_task_usd"] == plan["total_usd"] / 1


def test_simulate_then_fit_then_estimate_chain_through_files(capsys, tmp_path):
    workload = ROOT / "data" / "workloads" / "support-agent.yaml"
    traces = tmp_path / "sim.csv"
    fitted = tmp_path / "fitted.yaml"

    assert (
        main(["simulate", str(workload), "--days", "1", "--seed", "7", "--out", str(traces)]) == 0
    )
    assert main(["fit", str(traces), "--out", str(fitted)]) == 0
    capsys.readouterr()
    out = run_json(capsys, "estimate", str(fitted), "--plan", str(PLAN))

    assert traces.exists() and fitted.exists()
    assert out["plans"][0]["per_completed_task_usd"] > 0


def test_two_values_for_one_column_leave_no_span(capsys, tmp_path):
    path = write(tmp_path, TWO_RUNS)

    out = run_json(capsys, "metrics", path, "--where", "run_id=r1", "--where", "run_id=r2")

    assert (out["runs"], out["spans"]) == (0, 0)


def test_price_says_the_files_warnings_on_standard_error(capsys, tmp_path):
    path = write(tmp_path, "run_id,span_id,kind,start_time,end_time\nr1,a,tool,10,5\n")

    assert main(["price", path, "--plan", str(PLAN), "--format", "json"]) == 0

    out, err = capsys.readouterr()
    assert json.loads(out)["plans"][0]["total_usd"] == 0
    assert err.startswith("warning: ")
    assert "1 span (r1/a)" in err


def test_a_plan_file_whose_name_holds_a_colon_is_read_as_a_file(capsys, tmp_path):
    plan = tmp_path / "plan: v2.yaml"
    plan.write_text("name: R\nrequests: {per_tool_call: 1}\n")

    out = run_json(capsys, "price", write(tmp_path, TWO_RUNS), "--plan", str(plan))

    assert out["plans"][0]["components"]["requests"] == 1


def test_simulate_to_a_path_that_cannot_be_written_exits_2(capsys, tmp_path):
    workload = ROOT / "data" / "workloads" / "support-agent.yaml"
    out = str(tmp_path / "missing" / "s.csv")

    code = main(["simulate", str(workload), "--days", "1", "--seed", "1", "--out", out])

    assert code == 2
    assert f"{out}: cannot be written" in capsys.readouterr().err

"""The bench suite's execution checks: reference answers pass, broken or wrong ones fail.

The code runs for real (tools.sandbox, esbuild, node); no model is involved.
"""

import sqlite3
from pathlib import Path

import pytest

from evals import bench
from evals.evaluators import NodeTests, PythonTests, SqlRows
from evals.suites import load_suite

REFERENCE = Path(__file__).resolve().parent.parent / "evals" / "fixtures" / "reference"
BENCH = load_suite("bench")
CHECKS = {case.name: case.evaluators[0] for case in BENCH.cases}

needs_node = pytest.mark.skipif(
    bench.node_problem() is not None, reason=f"node checks unavailable: {bench.node_problem()}"
)


def reference(name: str) -> str:
    return (REFERENCE / name).read_text(encoding="utf-8")


def run_check(case: str, content: str, name: str | None = None) -> bench.CheckResult:
    check = CHECKS[case]
    files = {name or check.file: content}
    if isinstance(check, PythonTests):
        return bench.run_python_tests(files, check.file, check.tests, timeout=check.timeout)
    if isinstance(check, SqlRows):
        return bench.run_sql_check(files, name or check.file, check.expected)
    assert isinstance(check, NodeTests)
    return bench.run_node_tests(files, name or check.file, check.tests)


def assert_fails(case: str, answer: str, *says: str) -> None:
    """The check of `case` fails `answer`, and its detail says each of `says`."""
    result = run_check(case, answer)
    assert not result.passed
    for phrase in says:
        assert phrase in result.detail, result.detail


def test_the_suite_has_seed_001s_five_tasks_and_ours():
    assert [c.name for c in BENCH.cases] == [
        "react_profile_card",
        "express_jwt_auth",
        "sql_latest_orders",
        "python_quicksort",
        "node_error_handling",
        "python_merge_intervals",
        "sql_revenue_2024",
        "js_deep_equal",
    ]
    for case in BENCH.cases:
        # every prompt names the file its check looks for
        assert f"`{case.metadata.file}`" in case.inputs.prompt
        assert case.metadata.file == CHECKS[case.name].file


@pytest.mark.parametrize(
    ("case", "file"),
    [
        ("sql_latest_orders", "latest_orders.sql"),
        ("sql_revenue_2024", "revenue_2024.sql"),
    ],
)
def test_expected_rows_are_what_the_reference_query_returns(case, file):
    """The YAML's expected rows are not typed by hand only: SQLite agrees."""
    con = sqlite3.connect(":memory:")
    con.executescript((bench.FIXTURES / "shop.sql").read_text())
    statements = [s for s in reference(file).split(";") if s.strip() and "SELECT" in s.upper()]
    rows = [list(r) for r in con.execute(statements[-1]).fetchall()]
    assert rows == CHECKS[case].expected


@pytest.mark.parametrize("case", ["sql_latest_orders", "sql_revenue_2024"])
def test_reference_sql_passes(case):
    result = run_check(case, reference(CHECKS[case].file))
    assert result.passed, result.detail


def test_sql_shortcut_by_highest_id_fails():
    wrong = """SELECT u.id, u.name, o.id, o.total, o.created_at FROM users u
    JOIN orders o ON o.id = (SELECT MAX(id) FROM orders WHERE user_id = u.id) ORDER BY u.id"""
    assert_fails("sql_latest_orders", wrong, "row 1 is [1.0, 'Ada', 9.0")


def test_sql_without_coalesce_fails_on_the_user_without_orders():
    wrong = reference("revenue_2024.sql").replace("COALESCE(SUM(o.total), 0)", "SUM(o.total)")
    assert_fails("sql_revenue_2024", wrong, "Dee")


def test_sql_syntax_error_fails_with_sqlites_message():
    assert_fails("sql_revenue_2024", "SELEC name FROM users;", "syntax error")


def test_sql_wrong_column_count_is_reported():
    assert_fails("sql_revenue_2024", "SELECT name, 0 FROM users ORDER BY name", "2 columns")


@pytest.mark.parametrize(
    ("case", "file"), [("python_quicksort", "quicksort.py"), ("python_merge_intervals", "intervals.py")]
)
def test_reference_python_passes(case, file):
    result = run_check(case, reference(file))
    assert result.passed, result.detail


def test_python_syntax_error_fails():
    assert_fails("python_quicksort", "def quicksort(items:\n    return items\n", "SyntaxError")


def test_naive_quicksort_fails_on_sorted_100k():
    naive = """
def quicksort(items):
    if len(items) <= 1:
        return list(items)
    pivot, rest = items[0], items[1:]
    return quicksort([x for x in rest if x < pivot]) + [pivot] + quicksort([x for x in rest if x >= pivot])
"""
    assert_fails("python_quicksort", naive, "RecursionError")


def test_builtin_sort_is_caught():
    assert_fails(
        "python_quicksort", "def quicksort(items):\n    return sorted(items)\n", "test_no_builtin_sort"
    )


def test_merge_intervals_missing_edge_cases_fails():
    wrong = reference("intervals.py").replace("start <= merged[-1][1]", "start < merged[-1][1]")
    assert_fails("python_merge_intervals", wrong, "test_touching_merge_but_gaps_do_not")


def test_python_infinite_loop_times_out():
    check = CHECKS["python_merge_intervals"]
    files = {"intervals.py": "def merge_intervals(x):\n    while True:\n        pass\n"}
    result = bench.run_python_tests(files, "intervals.py", check.tests, timeout=2)
    assert not result.passed
    assert "timed out" in result.detail


@needs_node
@pytest.mark.parametrize(
    ("case", "file"),
    [
        ("react_profile_card", "ProfileCard.tsx"),
        ("express_jwt_auth", "auth.js"),
        ("node_error_handling", "errors.js"),
        ("js_deep_equal", "deepEqual.js"),  # written as an ES module: esbuild converts it
    ],
)
def test_reference_js_and_ts_pass(case, file):
    result = run_check(case, reference(file))
    assert result.passed, result.detail


@needs_node
def test_tsx_syntax_error_is_rejected_by_esbuild():
    broken = reference("ProfileCard.tsx").replace("</div>", "</dvi>")
    assert_fails("react_profile_card", broken, "esbuild (tsx) rejects it")


@needs_node
def test_profile_card_without_initials_fails():
    wrong = reference("ProfileCard.tsx").replace('<span className="initials">{initials(name)}</span>', "null")
    assert_fails("react_profile_card", wrong, "initials")


@needs_node
def test_jwt_endpoint_that_accepts_forged_tokens_fails():
    wrong = reference("auth.js").replace(
        "req.user = jwt.verify(token, process.env.JWT_SECRET);", "req.user = jwt.decode(token);"
    )
    assert_fails("express_jwt_auth", wrong, "forged token", "expired token")


@needs_node
def test_jwt_endpoint_with_a_missing_dependency_fails():
    wrong = "const bcrypt = require('bcrypt');\n" + reference("auth.js")
    assert_fails("express_jwt_auth", wrong, "bcrypt")


@needs_node
def test_error_handler_leaking_messages_fails():
    wrong = reference("errors.js").replace("message: 'Internal Server Error'", "message: err.message")
    assert_fails("node_error_handling", wrong, "hides and logs unexpected errors")


@needs_node
def test_js_syntax_error_fails():
    assert_fails("js_deep_equal", "function deepEqual(a, b) { return a === b \n", "esbuild (js) rejects it")


@needs_node
def test_deep_equal_with_strict_equality_fails():
    assert_fails("js_deep_equal", "module.exports = { deepEqual: (a, b) => a === b };", "NaN")


@needs_node
def test_js_that_never_finishes_is_stopped():
    hang = "module.exports = { deepEqual() { while (true) {} } };"
    check = CHECKS["js_deep_equal"]
    result = bench.run_node_tests({"deepEqual.js": hang}, "deepEqual.js", check.tests, timeout=3)
    assert not result.passed
    assert "timed out" in result.detail


def test_pick_file_prefers_the_asked_name_then_the_extension():
    files = {"notes.md": "x", "src/quicksort.py": "a", "other.py": "b"}
    assert bench.pick_file(files, "quicksort.py", "python") == ("src/quicksort.py", "a")
    assert bench.pick_file({"main.py": "m"}, "quicksort.py", "python") == ("main.py", "m")
    assert bench.pick_file({"index.html": "h"}, "quicksort.py", "python") is None
    assert bench.pick_file({}, "x.sql", "sql") is None


def test_keyword_score():
    score, missing = bench.keyword_score("SELECT a JOIN b", ["select", "join", "max"])
    assert (round(score, 3), missing) == (0.667, ["max"])

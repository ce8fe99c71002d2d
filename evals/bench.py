"""Execution checks for the bench suite: the generated code is run, never just read.

- Python: the file runs against hidden assert-based tests (`def test_...`).
- SQL: the query runs in SQLite (python's sqlite3) on evals/fixtures/shop.sql; the rows it
  returns are compared with the expected rows.
- JavaScript/TypeScript/TSX: esbuild (a real parser) turns the file into CommonJS and
  `node --check` accepts it; esbuild then bundles it with hidden tests, a tiny test runner
  and what it requires (evals/fixtures/node_harness: a React stand-in that renders
  components to HTML without a DOM; express/jsonwebtoken/light-my-request from npm) into
  one file that runs under Node.

Everything generated runs through tools.sandbox.run_sandboxed, in a fresh temp dir; esbuild
too (tools.esbuild), on a copy of only the generated files, the harness and the packages, so
a `require` of a path outside them does not resolve. The Node checks need esbuild, express,
jsonwebtoken and light-my-request installed once: see NODE_SETUP.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools import esbuild
from tools.esbuild import NODE_SETUP, esbuild_binary, node_dir, node_problem  # noqa: F401 - used by evals
from tools.verify.sandboxed import sandbox_python

FIXTURES = Path(__file__).resolve().parent / "fixtures"
EXTENSIONS = {
    "python": (".py",),
    "sql": (".sql",),
    "javascript": (".js", ".cjs", ".mjs", ".jsx"),
    "typescript": (".ts", ".tsx"),
    "tsx": (".tsx", ".ts", ".jsx"),
    "html": (".html", ".htm"),
}


INFRASTRUCTURE = "infrastructure: "  # how the detail of a check the harness could not run starts


@dataclass
class CheckResult:
    passed: bool
    detail: str
    infrastructure: bool = False  # the harness failed (sandbox, interpreter): not judged


def harness_failure(result: Any) -> CheckResult | None:
    """A CheckResult saying the harness, not the code, failed (None: the code ran)."""
    problem = getattr(result, "infrastructure", None)
    if not problem:
        return None
    return CheckResult(False, f"{INFRASTRUCTURE}{problem}", infrastructure=True)


def unavailable(problem: str) -> CheckResult:
    """A checker that is not installed here: the harness's problem, not the model's."""
    return CheckResult(False, f"{INFRASTRUCTURE}checker unavailable: {problem}", infrastructure=True)


def pick_file(files: dict[str, str], wanted: str | None, language: str | None) -> tuple[str, str] | None:
    """The file a check should run: the name the prompt asked for, else the only (or first)
    file with a fitting extension. None when the answer has no such file."""
    if not files:
        return None
    if wanted:
        for name, content in files.items():
            if name == wanted or name.rsplit("/", 1)[-1] == wanted:
                return name, content
    suffixes = EXTENSIONS.get(language or "", ())
    if not suffixes and wanted and "." in wanted:
        suffixes = ("." + wanted.rsplit(".", 1)[-1],)
    fitting = [(n, c) for n, c in files.items() if n.lower().endswith(suffixes)] if suffixes else []
    if fitting:
        return fitting[0]
    return None


def run_in_sandbox(
    cmd: list[str],
    files: dict[str, str | bytes],
    timeout: float,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> Any:
    """Run in tools.sandbox. Programs come in on stdin (`python -`, `node -`) and open their
    data files by relative name: nothing depends on the run dir's absolute path."""
    from tools.sandbox import SandboxLimits, run_sandboxed

    limits = SandboxLimits(timeout=timeout, cpu_seconds=int(timeout) + 1)
    return run_sandboxed(cmd, files, stdin=stdin, limits=limits, env=env)


def python_cmd() -> list[str]:
    """This venv's interpreter by its real path, which the sandbox can see (a symlinked venv,
    as in a git worktree, is otherwise reached through the hidden repository)."""
    return [sandbox_python(), "-B", "-"]


def _tail(text: str, lines: int = 6, limit: int = 600) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-limit:]


def describe_failure(result: Any, what: str) -> str:
    if result.timed_out:
        return f"{what} timed out after {result.duration:.1f}s"
    if getattr(result, "killed_reason", None):
        return f"{what} was killed: {result.killed_reason}"
    return f"{what} failed (exit {result.returncode}): {_tail(result.stderr or result.stdout)}"


# --- Python -------------------------------------------------------------------------

# Loads the generated modules by relative file name (exec into a fresh module), so the
# hidden tests can `from quicksort import quicksort` wherever the sandbox puts the run dir.
_PY_PRELUDE = """
import sys as _sys
import types as _types


def _codecrew_load(name, path):
    module = _types.ModuleType(name)
    module.__file__ = path
    _sys.modules[name] = module
    with open(path, encoding="utf-8") as handle:
        source = handle.read()
    try:
        exec(compile(source, path, "exec"), module.__dict__)
    except BaseException:
        del _sys.modules[name]
        raise


for _name in {modules!r}:
    _codecrew_load(_name[:-3], _name)
"""

_PY_RUNNER = """

def _codecrew_run_tests():
    import sys
    names = [n for n, f in list(globals().items()) if n.startswith("test_") and callable(f)]
    failed = []
    for name in names:
        try:
            globals()[name]()
        except BaseException as exc:  # noqa: BLE001 - SystemExit and RecursionError count
            message = " ".join(str(exc).split())[:200]
            failed.append(f"{name}: {type(exc).__name__}{': ' + message if message else ''}")
    print(f"@@ {len(names) - len(failed)}/{len(names)} passed")
    for line in failed:
        print("@@ FAIL", line)
    sys.exit(1 if failed else 0)


_codecrew_run_tests()
"""


def run_python_tests(
    files: dict[str, str], module_file: str, tests: str, *, timeout: float = 30.0
) -> CheckResult:
    """Run hidden `def test_...` functions against `module_file` (importable by its name)."""
    sandbox_files: dict[str, str | bytes] = {
        name: content for name, content in files.items() if name.endswith(".py")
    }
    sandbox_files[module_file] = files.get(module_file, "")
    modules = [module_file, *sorted(n for n in sandbox_files if n != module_file)]
    program = _PY_PRELUDE.format(modules=modules) + tests + _PY_RUNNER
    result = run_in_sandbox(python_cmd(), sandbox_files, timeout, stdin=program)
    if harness := harness_failure(result):
        return harness
    marks = [line[3:] for line in result.stdout.splitlines() if line.startswith("@@ ")]
    if result.timed_out or not marks:
        return CheckResult(False, describe_failure(result, "the hidden tests"))
    summary, failures = marks[0], [m.removeprefix("FAIL ") for m in marks[1:]]
    if result.returncode == 0 and not failures:
        return CheckResult(True, f"hidden tests: {summary}")
    return CheckResult(False, f"hidden tests: {summary}; " + "; ".join(failures[:4]))


# --- SQL ----------------------------------------------------------------------------

_SQL_RUNNER = r"""
import json, sqlite3, sys

def statements(sql):
    buf = ""
    for ch in sql:
        buf += ch
        if ch == ";" and sqlite3.complete_statement(buf):
            yield buf
            buf = ""
    if buf.strip() and sqlite3.complete_statement(buf + ";"):
        yield buf

con = sqlite3.connect(":memory:")
con.executescript(open("fixture.sql", encoding="utf-8").read())
result = None
for statement in statements(open("query.sql", encoding="utf-8").read()):
    if not statement.strip().strip(";").strip():
        continue
    cursor = con.execute(statement)
    if cursor.description:
        result = {"columns": [d[0] for d in cursor.description], "rows": cursor.fetchall()}
if result is None:
    sys.exit("the SQL returned no rows at all: no SELECT statement found")
print(json.dumps(result))
"""


def _norm(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return round(float(value), 2)
    return value


def run_sql_check(
    files: dict[str, str],
    query_file: str,
    expected: list[list[Any]],
    *,
    fixture: str = "shop.sql",
    ordered: bool = True,
    timeout: float = 15.0,
) -> CheckResult:
    """Run the query on the fixture; compare its rows (values, not column names)."""
    sandbox_files: dict[str, str | bytes] = {
        "query.sql": files[query_file],
        "fixture.sql": (FIXTURES / fixture).read_text(encoding="utf-8"),
    }
    result = run_in_sandbox(python_cmd(), sandbox_files, timeout, stdin=_SQL_RUNNER)
    if harness := harness_failure(result):
        return harness
    if result.returncode != 0 or result.timed_out:
        return CheckResult(False, describe_failure(result, "the query"))
    try:
        got = json.loads(result.stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return CheckResult(False, f"the query printed no rows: {_tail(result.stdout)}")
    rows = [[_norm(v) for v in row] for row in got["rows"]]
    want = [[_norm(v) for v in row] for row in expected]
    columns = ", ".join(got["columns"])
    if want and rows and len(rows[0]) != len(want[0]):
        return CheckResult(False, f"{len(rows[0])} columns ({columns}), expected {len(want[0])}")
    if not ordered:
        rows, want = sorted(rows, key=repr), sorted(want, key=repr)
    if rows == want:
        return CheckResult(True, f"{len(rows)} rows match ({columns})")
    if len(rows) != len(want):
        return CheckResult(False, f"{len(rows)} rows, expected {len(want)}; got {rows[:6]}")
    index = next(i for i, (a, b) in enumerate(zip(rows, want, strict=True)) if a != b)
    return CheckResult(False, f"row {index + 1} is {rows[index]}, expected {want[index]}")


# --- JavaScript / TypeScript --------------------------------------------------------


def transpile(code: str, name: str, *, timeout: float = 20.0) -> CheckResult:
    """esbuild (in the sandbox): JS/TS/TSX (CommonJS or ES modules) -> CommonJS for Node."""
    built = esbuild.transpile(code, name, timeout=timeout)
    if built.infrastructure:
        return unavailable(built.error)
    if not built.ok:
        loader = esbuild.LOADERS.get(Path(name).suffix.lower(), "js")
        return CheckResult(False, f"esbuild ({loader}) rejects it: {built.error}")
    return CheckResult(True, built.code)


def bundle(module_js: str, module_name: str, tests: str, *, timeout: float = 30.0) -> CheckResult:
    """One file holding the tests, the harness, the module and what it requires (react: our
    stand-in; express, jsonwebtoken...: the packages under node_dir()), bundled in the
    sandbox from a copy of only these files: a path outside them does not resolve."""
    base = FIXTURES / "node_harness"
    files: dict[str, str | bytes] = {
        module_name: module_js,
        "_tests.js": tests,
        "_harness.js": (base / "harness.js").read_bytes(),
        "_render.js": (base / "render.js").read_bytes(),
    }
    for path in sorted((base / "react").rglob("*")):
        if path.is_file():
            files[f"node_modules/react/{path.relative_to(base / 'react').as_posix()}"] = path.read_bytes()
    built = esbuild.bundle(files, "_tests.js", timeout=timeout)
    if built.infrastructure:
        return unavailable(built.error)
    if not built.ok:
        return CheckResult(False, f"cannot bundle it: {built.error}")
    return CheckResult(True, built.code)


def run_node_tests(
    files: dict[str, str], module_file: str, tests: str, *, timeout: float = 30.0
) -> CheckResult:
    """esbuild-transpile `module_file`, `node --check` it, then run the hidden tests.

    The tests require the module as `./<module_file with a .js suffix>` and get `test`,
    `assert`, `exported`, `run` from `./_harness.js` and `render` from `./_render.js`.
    """
    built = transpile(files[module_file], module_file)
    if not built.passed:
        return built
    js_name = Path(module_file).with_suffix(".js").name
    checked = run_in_sandbox(["node", "--check", "-"], {}, timeout, stdin=built.detail)
    if harness := harness_failure(checked):
        return harness
    if checked.returncode != 0 or checked.timed_out:
        return CheckResult(False, describe_failure(checked, "node --check"))
    bundled = bundle(built.detail, js_name, tests)
    if not bundled.passed:
        return bundled
    env = {"JWT_SECRET": "codecrew-test-secret"}
    result = run_in_sandbox(["node", "-"], {}, timeout, env, stdin=bundled.detail)
    if harness := harness_failure(result):
        return harness
    marks = [line[3:] for line in result.stdout.splitlines() if line.startswith("@@ ")]
    if not marks:
        return CheckResult(False, describe_failure(result, "the hidden tests"))
    failures = [m.removeprefix("FAIL ") for m in marks if m.startswith("FAIL ")]
    passed = len(marks) - len(failures)
    if result.returncode == 0 and not failures:
        return CheckResult(True, f"hidden tests: {passed}/{len(marks)} passed")
    summary = f"hidden tests: {passed}/{len(marks)} passed; " + "; ".join(failures[:4])
    if result.timed_out:
        summary += f" (timed out after {result.duration:.1f}s)"
    return CheckResult(False, summary)


def keyword_score(text: str, keywords: list[str]) -> tuple[float, list[str]]:
    """Share of `keywords` (regexes, case-insensitive) found in `text`, and the missing ones."""
    missing = [k for k in keywords if not re.search(k, text, re.IGNORECASE)]
    return (1 - len(missing) / len(keywords) if keywords else 1.0), missing

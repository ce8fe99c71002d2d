"""The SQL judge: every statement of the written .sql files runs in SQLite (an in-memory
database, in the sandbox), in order, schema files first, without error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import PurePosixPath

from tools.verify.records import Check, Verdict, infrastructure, make_verdict, not_verified
from tools.verify.sandboxed import HarnessFailure, outcome, run_in_sandbox, sandbox_python, tail

SQL_SECONDS = 15.0
_SCHEMA_WORDS = ("schema", "create", "init", "setup", "ddl", "tables")

# Runs in the sandbox: each statement on its own, so an error names the statement and its line.
_RUNNER = r"""
import json, sqlite3, sys

def statements(sql):
    buf, line, start = "", 1, 1
    for ch in sql:
        if not buf.strip():
            start = line
        buf += ch
        if ch == "\n":
            line += 1
        if ch == ";" and sqlite3.complete_statement(buf):
            yield start, buf
            buf = ""
    if buf.strip() and sqlite3.complete_statement(buf + ";"):
        yield start, buf

con = sqlite3.connect(":memory:")
ran = rows = 0
for name in json.loads(sys.argv[1]):
    for line, statement in statements(open(name, encoding="utf-8").read()):
        if not statement.strip().strip(";").strip():
            continue
        try:
            cursor = con.execute(statement)
            fetched = cursor.fetchall() if cursor.description else []
        except sqlite3.Error as error:
            shown = " ".join(statement.split())[:200]
            print(f"{name} line {line}: {type(error).__name__}: {error}\n  in: {shown}", file=sys.stderr)
            sys.exit(1)
        ran += 1
        rows += len(fetched)
print(json.dumps({"statements": ran, "rows": rows}))
"""


def sql_order(names: list[str]) -> list[str]:
    """Schema files first (by name), then the rest, each group sorted."""
    sql = [name for name in names if name.lower().endswith(".sql")]

    def schema_first(name: str) -> tuple[int, str]:
        stem = PurePosixPath(name).stem.lower()
        return (0 if any(word in stem for word in _SCHEMA_WORDS) else 1, name)

    return sorted(sql, key=schema_first)


async def judge_sql(files: Mapping[str, str | bytes], timeout: float) -> Verdict:
    order = sql_order(sorted(files))
    if not order:
        return not_verified("sql", "no .sql file")
    run_files = {**{name: files[name] for name in order}, ".codecrew-sql.py": _RUNNER}
    cmd = [sandbox_python(), "-B", ".codecrew-sql.py", json.dumps(order)]
    result = await run_in_sandbox(cmd, run_files, timeout=min(timeout, SQL_SECONDS))
    if isinstance(result, HarnessFailure):
        return infrastructure("sql", result.reason)
    if result.ok:
        try:
            counts = json.loads(result.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            counts = {"statements": "?", "rows": "?"}
        if counts.get("statements") == 0:
            return make_verdict("sql", [Check("runs", False, "no SQL statement in " + ", ".join(order))])
        ran, rows = counts["statements"], counts["rows"]
        detail = f"{ran} statements ran in SQLite ({', '.join(order)}), {rows} rows returned"
        return make_verdict("sql", [Check("runs", True, detail)])
    error = tail(result.stderr, lines=4) or outcome(result)
    if result.timed_out or result.killed_reason:
        error = f"{outcome(result)}\n{error}"
    return make_verdict("sql", [Check("runs", False, error)])

"""tools.verify: each judge on small real pages and scripts, good and broken.

Real Chromium, the real sandbox, real node/esbuild/gcc where installed; no model. One
browser serves every page test of the module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tools import esbuild
from tools.browser import browser_available
from tools.verify import Check, Verdict, expected_judge, sandboxed, verify_files
from tools.verify import python as python_judge

GAME = """<!doctype html><html><body><canvas id="c" width="200" height="200"></canvas><script>
const ctx = document.getElementById("c").getContext("2d");
let x = 20, y = 20;
function draw() { ctx.fillStyle = "#000"; ctx.fillRect(0, 0, 200, 200);
  ctx.fillStyle = "#0f0"; ctx.fillRect(x, y, 20, 20); }
document.addEventListener("keydown", (e) => {
  if (e.key === "ArrowLeft") x -= 10; if (e.key === "ArrowRight") x += 10;
  if (e.key === "ArrowUp") y -= 10; if (e.key === "ArrowDown") y += 10; if (e.key === " ") y = 0;
  draw(); });
setInterval(() => { y = (y + 10) % 180; draw(); }, 200);
draw();
</script></body></html>"""

GAME_THROWS = """<!doctype html><html><body><canvas id="c" width="200" height="200"></canvas><script>
const ctx = document.getElementById("c").getContext("2d");
const board = undefined;
document.addEventListener("keydown", () => {});
ctx.fillRect(0, 0, board.width, 10);
</script></body></html>"""

BLANK_GAME = """<!doctype html><html><body><canvas id="c" width="200" height="200"></canvas><script>
document.addEventListener("keydown", () => {});
</script></body></html>"""

COUNTER_APP = """<!doctype html><html><body><h1>Counter</h1><p id="n">0</p><button id="inc">+1</button>
<script>let n = 0;
document.getElementById("inc").addEventListener("click", () => { document.getElementById("n").textContent = ++n; });
</script></body></html>"""

TODO_APP = """<!doctype html><html><body><h1>Todos</h1>
<input id="t" placeholder="What to do"><button id="add">Add</button><ul id="list"></ul>
<script>document.getElementById("add").addEventListener("click", () => {
  const t = document.getElementById("t"); if (!t.value) return;
  const li = document.createElement("li"); li.textContent = t.value;
  document.getElementById("list").appendChild(li); t.value = ""; });
</script></body></html>"""

DEAF_APP = """<!doctype html><html><body><h1>Counter</h1><p id="n">0</p><button id="inc">+1</button>
<script>let n = 0; document.getElementById("inc").addEventListener("click", () => { n + 1; });</script>
</body></html>"""

needs_chromium = pytest.mark.skipif(browser_available() is None, reason="chromium not found")
needs_node = pytest.mark.skipif(esbuild.esbuild_problem() is not None, reason=f"{esbuild.esbuild_problem()}")


def write(directory: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return list(files)


async def verify(tmp_path: Path, files: dict[str, str], **kwargs: object) -> Verdict:
    return await verify_files(tmp_path, write(tmp_path, files), **kwargs)  # type: ignore[arg-type]


def check(verdict: Verdict, name: str) -> Check:
    return next(c for c in verdict.checks if c.name == name)


def failed_check(verdict: Verdict, name: str, *says: str) -> Check:
    """The check `name` of `verdict` failed, and its detail says each of `says`."""
    found = check(verdict, name)
    assert not found.passed, found.detail
    for phrase in says:
        assert phrase in found.detail, found.detail
    return found


# --- records --------------------------------------------------------------------------------


def test_verdict_summary_score_and_evidence():
    ok = Verdict("verified", "web-game", (Check("loads", True, "ok"), Check("advances", True, "ok")), "")
    assert ok.score == 1.0
    assert ok.summary() == "verified: plays in Chromium (loads, moves by itself)"
    bad = Verdict(
        "failed",
        "web-game",
        (
            Check("loads", True, "ok"),
            Check("responds_to_keys", False, "no key changed the page" + "x" * 5000),
        ),
        "",
    )
    assert bad.score == 0.5
    assert bad.summary().startswith("not working: responds_to_keys failed: no key changed the page")
    assert len(bad.summary()) < 300
    assert "responds_to_keys failed" in bad.evidence() and len(bad.evidence(500)) <= 500
    assert "loads" not in bad.evidence()


# --- web pages ------------------------------------------------------------------------------


@needs_chromium
async def test_working_canvas_game_is_verified(tmp_path, browser):
    shot = tmp_path / "shot.png"
    verdict = await verify(
        tmp_path, {"index.html": GAME}, request="a tiny game", screenshot=shot, browser=browser
    )
    assert verdict.judge == "web-game"
    assert verdict.status == "verified", verdict.evidence()
    assert [c.name for c in verdict.checks] == ["loads", "draws", "responds_to_keys", "advances"]
    assert (
        verdict.summary() == "verified: plays in Chromium (loads, draws, responds to keys, moves by itself)"
    )
    assert verdict.screenshot == str(shot) and shot.is_file()


@needs_chromium
async def test_game_that_throws_on_load_fails_with_the_error_and_its_line(tmp_path, browser):
    verdict = await verify(tmp_path, {"index.html": GAME_THROWS}, request="build snake", browser=browser)
    assert verdict.status == "failed"
    failed_check(verdict, "loads", "TypeError", "index.html:5:")
    assert "index.html:5:" in verdict.evidence()
    # the statement at fault, quoted from the file, for the repair
    assert "\n    line 5: ctx.fillRect(0, 0, board.width, 10);" in verdict.evidence()


@needs_chromium
async def test_blank_page_fails_draws(tmp_path, browser):
    verdict = await verify(tmp_path, {"index.html": BLANK_GAME}, request="build tetris", browser=browser)
    assert verdict.status == "failed"
    assert check(verdict, "loads").passed
    failed_check(verdict, "draws")


@needs_chromium
async def test_missing_local_script_fails_loads(tmp_path, browser):
    page = COUNTER_APP.replace("<h1>", '<script src="missing.js"></script><h1>')
    verdict = await verify(tmp_path, {"index.html": page}, browser=browser)
    failed_check(verdict, "loads", "missing.js")


@needs_chromium
@pytest.mark.parametrize("page", [COUNTER_APP, TODO_APP], ids=["counter", "todo"])
async def test_small_apps_are_verified(tmp_path, browser, page):
    verdict = await verify(tmp_path, {"index.html": page}, request="a small app", browser=browser)
    assert verdict.judge == "web-app"
    assert verdict.status == "verified", verdict.evidence()
    assert [c.name for c in verdict.checks] == ["loads", "draws", "responds_to_input"]
    assert verdict.summary() == "verified: works in Chromium (loads, draws, responds to input)"


@needs_chromium
async def test_app_whose_button_does_nothing_fails_responds_to_input(tmp_path, browser):
    verdict = await verify(tmp_path, {"index.html": DEAF_APP}, request="a counter app", browser=browser)
    assert verdict.status == "failed"
    failed_check(verdict, "responds_to_input", "no change")
    assert verdict.summary().startswith("not working: responds_to_input failed")


@needs_chromium
async def test_form_that_reloads_the_page_fails_and_says_why(tmp_path, browser):
    page = TODO_APP.replace('<input id="t"', '<form><input id="t"').replace(
        "</button><ul", "</button></form><ul"
    )
    verdict = await verify(tmp_path, {"index.html": page}, request="a todo app", browser=browser)
    failed_check(verdict, "responds_to_input", "preventDefault")


@needs_chromium
async def test_page_needing_a_cdn_fails_and_says_the_request_was_blocked(tmp_path, browser):
    page = (
        '<!doctype html><html><body><div id="root"></div>'
        '<script src="https://cdn.example.com/react.js"></script>'
        "<script>React.render(document.getElementById('root'));</script></body></html>"
    )
    verdict = await verify(tmp_path, {"index.html": page}, request="a todo app", browser=browser)
    failed_check(verdict, "loads", "ReferenceError", "https://cdn.example.com/react.js")
    assert "offline" in verdict.evidence()


@needs_chromium
async def test_page_without_controls_passes_only_when_a_static_page_was_asked_for(tmp_path, browser):
    page = "<!doctype html><html><body><h1>Ada Lovelace</h1><p>Mathematician.</p></body></html>"
    static = await verify(tmp_path, {"index.html": page}, request="a portfolio landing page", browser=browser)
    assert static.status == "verified", static.evidence()
    asked = await verify(tmp_path, {"index.html": page}, request="a calculator", browser=browser)
    assert asked.status == "failed"
    failed_check(asked, "responds_to_input", "no button")


async def test_browser_missing_is_infrastructure(tmp_path, monkeypatch):
    monkeypatch.setenv("CODECREW_CHROMIUM", str(tmp_path / "no-chromium"))
    verdict = await verify(tmp_path, {"index.html": GAME}, request="build tetris")
    assert verdict.status == "infrastructure"
    assert verdict.summary().startswith("not verified: the browser could not start (infrastructure)")
    assert "apt-get install chromium" in verdict.reason


# --- Python ---------------------------------------------------------------------------------


async def test_python_script_that_runs_is_verified(tmp_path):
    verdict = await verify(
        tmp_path,
        {
            "main.py": "from util import twice\nprint(twice(21))\n",
            "util.py": "def twice(x):\n    return 2 * x\n",
        },
    )
    assert verdict.judge == "python"
    assert verdict.status == "verified", verdict.evidence()
    assert verdict.summary() == "verified: runs in the sandbox (exit 0, no traceback)"
    assert verdict.checks[-1].output == "42"  # shown to the user: no judge checks what it printed


async def test_what_a_script_printed_is_kept_short_and_without_terminal_escapes(tmp_path):
    script = "print('\\x1b]0;owned\\x07\\x1b[2Jred')\nprint()\nfor i in range(100):\n    print(i)\n"
    verdict = await verify(tmp_path, {"main.py": script})
    assert verdict.status == "verified", verdict.evidence()
    output = verdict.checks[-1].output
    assert output is not None and "\x1b" not in output and "\x07" not in output
    assert output.splitlines() == [" ]0;owned  [2Jred", "0", "1", "2", "3"]  # the first 5 non-empty lines


async def test_python_script_that_raises_fails_with_the_traceback_tail(tmp_path):
    verdict = await verify(tmp_path, {"main.py": "x = 1\nraise ValueError('bad value here')\n"})
    assert verdict.status == "failed"
    failed_check(verdict, "runs", "ValueError: bad value here", "line 2")
    assert "ValueError: bad value here" in verdict.evidence()


async def test_python_syntax_error_fails_compiles(tmp_path):
    verdict = await verify(tmp_path, {"main.py": "def f(:\n    pass\n"})
    assert verdict.status == "failed"
    failed_check(verdict, "compiles", "main.py line 1")


async def test_python_waiting_on_input_says_so(tmp_path):
    verdict = await verify(tmp_path, {"main.py": "name = input('name? ')\nprint(name)\n"})
    assert verdict.status == "failed"
    failed_check(verdict, "runs", "input()", "EOF")


async def test_python_server_that_stays_up_is_verified(tmp_path):
    server = (
        "import http.server\n"
        "server = http.server.HTTPServer(('127.0.0.1', 0), http.server.SimpleHTTPRequestHandler)\n"
        "server.serve_forever()\n"
    )
    verdict = await verify(tmp_path, {"server.py": server})
    assert verdict.judge == "python-server"
    assert verdict.status == "verified", verdict.evidence()
    assert check(verdict, "starts").passed


async def test_server_with_its_pages_is_judged_as_the_server(tmp_path):
    server = (
        "import http.server\n"
        "handler = http.server.SimpleHTTPRequestHandler\n"
        "http.server.HTTPServer(('127.0.0.1', 0), handler).serve_forever()\n"
    )
    verdict = await verify(tmp_path, {"app.py": server, "templates/index.html": "<h1>{{ title }}</h1>"})
    assert verdict.judge == "python-server"
    assert verdict.status == "verified", verdict.evidence()


async def test_python_server_that_crashes_fails(tmp_path):
    server = "import http.server\nraise RuntimeError('port config missing')\nhttp.server.HTTPServer\n"
    verdict = await verify(tmp_path, {"server.py": server})
    assert verdict.status == "failed"
    failed_check(verdict, "starts", "port config missing")


async def test_failing_pytest_file_fails(tmp_path):
    files = {
        "calc.py": "def add(a, b):\n    return a - b\n",
        "test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n",
    }
    verdict = await verify(tmp_path, files)
    assert verdict.status == "failed"
    failed_check(verdict, "pytest", "test_add")
    assert check(verdict, "runs").passed


async def test_passing_pytest_file_is_verified(tmp_path):
    files = {
        "calc.py": "def add(a, b):\n    return a + b\n",
        "test_calc.py": "from calc import add\n\ndef test_add():\n    assert add(2, 2) == 4\n",
    }
    verdict = await verify(tmp_path, files)
    assert verdict.status == "verified", verdict.evidence()
    assert "1 passed" in check(verdict, "pytest").detail


async def test_python_needing_a_package_not_installed_here_is_not_verified(tmp_path, monkeypatch):
    monkeypatch.setitem(python_judge.KNOWN_PACKAGES, "surely_not_installed_pkg", "surely-not-installed")
    verdict = await verify(tmp_path, {"main.py": "import surely_not_installed_pkg\n"})
    assert verdict.status == "not_verified"
    assert "pip install surely-not-installed" in verdict.reason


async def test_python_importing_a_module_it_did_not_write_fails(tmp_path):
    verdict = await verify(tmp_path, {"main.py": "from helpers import thing\nprint(thing)\n"})
    assert verdict.status == "failed"
    failed_check(verdict, "runs", "No module named 'helpers'")


async def test_missing_interpreter_is_infrastructure(tmp_path, monkeypatch):
    monkeypatch.setattr(python_judge, "sandbox_python", lambda: str(tmp_path / "no-python"))
    verdict = await verify(tmp_path, {"main.py": "print(1)\n"})
    assert verdict.status == "infrastructure", verdict
    assert "(infrastructure)" in verdict.summary()


async def test_sandbox_that_cannot_start_is_infrastructure(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise FileNotFoundError("bwrap")

    monkeypatch.setattr(sandboxed, "run_sandboxed", broken)
    verdict = await verify(tmp_path, {"main.py": "print(1)\n"})
    assert verdict.status == "infrastructure"
    assert "sandbox could not start" in verdict.reason


# --- JavaScript / TypeScript ----------------------------------------------------------------


@needs_node
async def test_javascript_that_runs_is_verified(tmp_path):
    files = {
        "index.js": "const { sum } = require('./lib');\nconsole.log(sum([1, 2, 3]));\n",
        "lib.js": "exports.sum = (xs) => xs.reduce((a, b) => a + b, 0);\n",
    }
    verdict = await verify(tmp_path, files)
    assert verdict.judge == "javascript"
    assert verdict.status == "verified", verdict.evidence()
    assert [c.name for c in verdict.checks] == ["parses", "runs"]
    assert verdict.checks[-1].output == "6"


@needs_node
async def test_node_server_that_stays_up_is_verified(tmp_path):
    server = "const http = require('http');\nhttp.createServer((q, r) => r.end('hi')).listen(0);\n"
    verdict = await verify(tmp_path, {"server.js": server})
    assert verdict.judge == "javascript-server"
    assert verdict.status == "verified", verdict.evidence()


@needs_node
async def test_javascript_that_throws_fails_with_its_source_line(tmp_path):
    verdict = await verify(tmp_path, {"index.js": "const a = 1;\nnull.boom();\n"})
    assert verdict.status == "failed"
    failed_check(verdict, "runs", "TypeError", "index.js:2")


@needs_node
async def test_javascript_that_does_not_parse_fails_parses(tmp_path):
    verdict = await verify(tmp_path, {"index.js": "const = ;\n"})
    assert verdict.status == "failed"
    failed_check(verdict, "parses")


@needs_node
async def test_typescript_that_runs_is_verified(tmp_path):
    code = "interface P { x: number }\nconst p: P = { x: 2 };\nconsole.log(p.x * 21);\n"
    verdict = await verify(tmp_path, {"main.ts": code})
    assert verdict.judge == "typescript"
    assert verdict.status == "verified", verdict.evidence()
    assert verdict.summary().startswith("verified: transpiles with esbuild and runs under Node")


@needs_node
async def test_typescript_type_erased_but_throws_fails(tmp_path):
    code = "function first(xs: number[]): number {\n  return xs[0].valueOf();\n}\nconsole.log(first([]));\n"
    verdict = await verify(tmp_path, {"main.ts": code})
    assert verdict.status == "failed"
    assert check(verdict, "transpiles").passed
    failed_check(verdict, "runs", "TypeError", "main.ts:2")


# --- SQL, C, the rest -----------------------------------------------------------------------


async def test_sql_that_runs_is_verified(tmp_path):
    files = {
        "schema.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT);\nINSERT INTO users (name) VALUES ('a'), ('b');\n",
        "query.sql": "SELECT name FROM users ORDER BY name;\n",
    }
    verdict = await verify(tmp_path, files)
    assert verdict.judge == "sql"
    assert verdict.status == "verified", verdict.evidence()
    assert "2 rows" in check(verdict, "runs").detail


async def test_bad_sql_fails_with_the_statement_and_line(tmp_path):
    sql = "CREATE TABLE t (id INTEGER);\n\nSELECT nope FROM t;\n"
    verdict = await verify(tmp_path, {"query.sql": sql})
    assert verdict.status == "failed"
    failed_check(verdict, "runs", "no such column: nope", "line 3")


@pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not installed")
async def test_c_compiles_and_runs(tmp_path):
    ok = await verify(
        tmp_path, {"main.c": '#include <stdio.h>\nint main(void) { printf("hi\\n"); return 0; }\n'}
    )
    assert ok.status == "verified", ok.evidence()
    assert ok.checks[-1].output == "hi"
    (tmp_path / "broken").mkdir()
    broken = await verify(tmp_path / "broken", {"main.c": "int main(void) { return x; }\n"})
    assert broken.status == "failed"
    failed_check(broken, "compiles", "undeclared", "main.c:1:25")


async def test_unknown_language_is_not_verified(tmp_path):
    verdict = await verify(tmp_path, {"main.zig": "pub fn main() void {}\n", "README.md": "hi"})
    assert verdict.status == "not_verified"
    assert verdict.summary().startswith("not verified:")
    assert verdict.score == 0.0


async def test_rust_without_cargo_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name, *a, **k: None)
    verdict = await verify(tmp_path, {"main.rs": "fn main() {}\n"})
    assert verdict.status == "not_verified"
    assert verdict.summary() == "not verified: no judge for Rust (cargo not installed)"


async def test_no_files_is_not_verified(tmp_path):
    verdict = await verify_files(tmp_path, [])
    assert verdict.status == "not_verified"


async def test_names_outside_the_directory_are_not_read(tmp_path):
    (tmp_path / "outside.py").write_text("print('outside')\n")
    inner = tmp_path / "out"
    inner.mkdir()
    verdict = await verify_files(inner, ["../outside.py"])
    assert verdict.status == "not_verified"


@pytest.mark.parametrize(
    ("request_text", "expected"),
    [
        ("build tetris", "game"),
        ("build a pong game in javascript", "game"),
        ("build a snake game in Python with pygame", "python"),
        ("write a python script that prints primes", "python"),
        ("build a todo list web app", "app"),
        ("make a calculator", "app"),
        ("write a C program that sorts numbers", None),
        ("a node.js server that says hello", None),
        ("write a SQL schema for a library", None),
        ("hello", None),
    ],
)
def test_expected_judge_is_read_from_the_request(request_text: str, expected: str | None) -> None:
    assert expected_judge(request_text) == expected


@needs_node
async def test_a_page_asked_for_and_only_a_script_written_fails(tmp_path: Path) -> None:
    script = {"tetris.js": 'document.addEventListener("keydown", () => {});\n'}
    verdict = await verify(tmp_path / "asked", script, request="build tetris")
    assert (verdict.status, verdict.judge) == ("failed", "javascript")
    failed_check(verdict, "has_page", "no HTML page was written for the browser script tetris.js")
    # Nothing said a page was wanted: a browser script alone is parsed, not run.
    assert (await verify(tmp_path / "unasked", script)).status == "not_verified"
    # An app that is not a browser script (a Node program) runs as before.
    node_app = {"app.js": "console.log(2 + 3);\n"}
    assert (await verify(tmp_path / "node", node_app, request="build a calculator app")).status == "verified"


def test_error_places_quote_the_line_of_the_file_they_name() -> None:
    from tools.verify.web import quote_error_lines

    files = {"js/game.js": "let a = 1;\n\n    grid[y][x] = piece.color;   \n", "index.html": "<p>hi</p>"}
    places = [
        "TypeError: Cannot set properties of undefined (setting '5') @ js/game.js:3:13",
        "ReferenceError: x is not defined @ js/game.js:2:1",  # an empty line: nothing to quote
        "Error: far @ js/game.js:99:1",  # past the end
        "Error: elsewhere @ other.js:1:1",  # not a file of the answer
    ]
    assert quote_error_lines(places, files) == [
        places[0],
        "  line 3: grid[y][x] = piece.color;",
        *places[1:],
    ]

"""Static checks of extracted files: each check passes on good files and fails on bad ones."""

import shutil
from pathlib import Path

import pytest
from inline_snapshot import snapshot

from tools import checks
from tools.checks import Check, check_files
from tools.extract import ExtractedFile, extract_files

ANSWERS = Path(__file__).parent / "fixtures" / "answers"
needs_node = pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")


def file(name: str, content: str, language: str | None = None) -> ExtractedFile:
    return ExtractedFile(name=name, language=language, content=content, block_index=0)


def by_name(results: list[Check]) -> dict[str, tuple[bool, str]]:
    return {check.name: (check.passed, check.detail) for check in results}


@pytest.fixture
def no_node(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "find_node", lambda: None)


def test_three_file_answer_passes_everything(no_node: None) -> None:
    files = extract_files((ANSWERS / "three_files_headings.txt").read_text()).files
    assert check_files(files) == snapshot(
        [
            Check(name="non-empty", passed=True, detail="3 files with content"),
            Check(
                name="references",
                passed=True,
                detail="all found: index.html -> style.css, index.html -> game.js",
            ),
            Check(name="html has script: index.html", passed=True, detail="game.js"),
            Check(name="css braces: style.css", passed=True, detail="balanced"),
            Check(name="node --check: game.js", passed=True, detail="node not found"),
            Check(name="no placeholders", passed=True, detail="none found"),
        ]
    )


def test_no_files() -> None:
    assert check_files([]) == [Check("files", False, "no files")]


def test_empty_file(no_node: None) -> None:
    results = by_name(check_files([file("a.js", "  \n"), file("b.js", "x();")]))
    assert results["non-empty"] == (False, "empty: a.js")


def test_missing_and_external_references(no_node: None) -> None:
    html = (
        '<link rel="stylesheet" href="css/style.css?v=2">\n'
        '<link rel="icon" href="data:,">\n'
        '<script src="https://cdn.example.com/lib.js"></script>\n'
        '<script src="//cdn.example.com/other.js"></script>\n'
        '<script type="module" src="./src/main.js"></script>\n'
        '<!-- <script src="old.js"></script> -->\n'
        '<a href="#top">top</a>\n'
    )
    js = "import { helper } from './helpers';\nimport React from 'react';\nimport('./lazy.js');\n"
    files = [file("index.html", html), file("src/main.js", js), file("src/helpers.ts", "export {}")]
    results = by_name(check_files(files))
    assert results["references"] == (
        False,
        "missing: index.html -> css/style.css?v=2, src/main.js -> ./lazy.js",
    )
    assert results["external references"] == (
        True,
        "not checked: index.html -> https://cdn.example.com/lib.js, index.html -> //cdn.example.com/other.js",
    )


def test_references_resolve_from_the_referring_folder(no_node: None) -> None:
    files = [
        file(
            "pages/about.html",
            '<link href="../css/site.css" rel="stylesheet"><script src="/app.js"></script>',
        ),
        file("css/site.css", "@import 'base.css';\nbody { margin: 0; }"),
        file("css/base.css", "html { color: black; }"),
        file("app.js", "import './lib/util.js';"),
        file("lib/util.js", "export const util = 1;"),
    ]
    assert by_name(check_files(files))["references"] == (
        True,
        "all found: pages/about.html -> ../css/site.css, pages/about.html -> /app.js, "
        "css/site.css -> base.css, app.js -> ./lib/util.js",
    )


def test_a_reference_out_of_the_folder_is_missing(no_node: None) -> None:
    files = [file("index.html", '<script src="../../secret.js"></script>'), file("secret.js", "")]
    assert by_name(check_files(files))["references"][0] is False


def test_python_compiles_without_running() -> None:
    files = [
        file("good.py", 'import os\n\nraise SystemExit("never run")\n'),
        file("bad.py", "def f(:\n    pass\n"),
        file("indent.py", "def f():\nreturn 1\n"),
        file("nul.py", "x = 1\x00\n"),
        file("warn.py", 'pattern = "\\d+"\n'),
    ]
    results = by_name(check_files(files))
    assert results["python compiles: good.py"] == (True, "compiles")
    assert results["python compiles: bad.py"] == (False, "line 1: invalid syntax")
    assert results["python compiles: indent.py"] == (
        False,
        "line 2: expected an indented block after function definition on line 1",
    )
    assert results["python compiles: nul.py"][0] is False
    assert results["python compiles: warn.py"] == (True, "compiles")


@needs_node
def test_node_parses_scripts_and_modules() -> None:
    """ES modules (import/export) are checked as modules, other files as scripts."""
    files = [
        file("module.js", "import { x } from './broken.js';\nexport const y = [...x];\n"),
        file("broken.js", "let x = [1, 2];\nfunction f() {\n  return 1;\n}}\n"),
        file("App.jsx", "const a = <div/>;"),  # node cannot parse JSX: not checked
    ]
    results = by_name(check_files(files))
    assert results["node --check: module.js"] == (True, "parses")
    assert results["node --check: broken.js"] == (False, "line 4: SyntaxError: Unexpected token '}'")
    assert "node --check: App.jsx" not in results


@needs_node
def test_inline_scripts_are_parsed_with_html_line_numbers() -> None:
    page = (
        "<!DOCTYPE html>\n<html><body>\n<canvas></canvas>\n"
        '<script type="application/json">{"not": "js"</script>\n'
        '<script type="module">\n  import { a } from "./a.js";\n  export const b = ;\n</script>\n'
        "</body></html>\n"
    )
    results = by_name(check_files([file("index.html", page)]))
    assert results["node --check: index.html inline scripts"] == (
        False,
        "line 7: SyntaxError: Unexpected token ';'",
    )
    assert results["html has script: index.html"] == (True, "inline script")


@needs_node
def test_cut_off_page_fails_the_parse() -> None:
    files = extract_files((ANSWERS / "truncated.txt").read_text()).files
    results = by_name(check_files(files))
    assert results["node --check: index.html inline scripts"] == (
        False,
        "line 17: SyntaxError: Unexpected end of input",
    )


def test_node_missing_is_not_a_failure(no_node: None) -> None:
    results = by_name(
        check_files([file("a.js", "this is not javascript"), file("i.html", "<script>x(</script>")])
    )
    assert results["node --check: a.js"] == (True, "node not found")
    assert results["node --check: i.html inline scripts"] == (True, "node not found")


def test_node_timeout_is_a_failure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    slow = tmp_path / "node"
    slow.write_text("#!/bin/sh\nexec sleep 5\n")
    slow.chmod(0o755)
    monkeypatch.setattr(checks, "find_node", lambda: str(slow))
    monkeypatch.setattr(checks, "NODE_TIMEOUT", 0.2)
    assert by_name(check_files([file("a.js", "x")]))["node --check: a.js"] == (
        False,
        "node --check timed out after 0.2 s",
    )


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ("<p>Hello</p>", (True, "static page: no script needed")),
        ("<canvas></canvas><script>draw()</script>", (True, "inline script")),
        ("<canvas></canvas><script src=game.js></script>", (True, "game.js")),
        ("<canvas></canvas>", (False, "interactive page (canvas, buttons or inputs) without any script")),
        (
            '<button onclick="go()">Go</button>',
            (False, "interactive page (canvas, buttons or inputs) without any script"),
        ),
        (
            "<input><script src=missing.js></script>",
            (False, "interactive page whose scripts are not among the files: missing.js"),
        ),
        (
            "<canvas></canvas><!-- <script>draw()</script> -->",
            (False, "interactive page (canvas, buttons or inputs) without any script"),
        ),
        ("<canvas></canvas><script>\n  draw();\n", (True, "inline script")),
    ],
)
def test_html_has_script(no_node: None, page: str, expected: tuple[bool, str]) -> None:
    files = [file("index.html", page), file("game.js", "draw();")]
    assert by_name(check_files(files))["html has script: index.html"] == expected


@pytest.mark.parametrize(
    ("css", "expected"),
    [
        ("a { color: red; }\n@media (max-width: 1px) {\n  a { color: blue; }\n}\n", (True, "balanced")),
        ("a { content: '}'; }\n/* } */\nb { }", (True, "balanced")),
        ("a { color: red;\n", (False, "1 '{' never closed")),
        ("a { color: red; }\n/* one\ntwo */\n}\n", (False, "line 4: '}' without an opening '{'")),
    ],
)
def test_css_braces(css: str, expected: tuple[bool, str]) -> None:
    assert by_name(check_files([file("style.css", css)]))["css braces: style.css"] == expected


def test_json_parses() -> None:
    results = by_name(check_files([file("package.json", '{"name": "x"}'), file("bad.json", "{'a': 1}")]))
    assert results["json parses: package.json"] == (True, "parses")
    assert results["json parses: bad.json"][0] is False


def test_placeholders_fail_a_check(no_node: None) -> None:
    files = extract_files((ANSWERS / "deepseek_lazy.txt").read_text()).files
    passed, detail = by_name(check_files(files))["no placeholders"]
    assert not passed
    assert detail.startswith("placeholder at index.html line 15: '/* remaining styles */'")

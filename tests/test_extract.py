"""The deterministic extractor: blocks, names, layouts and the CLI, on saved model answers."""

import runpy
import sys
import warnings
from pathlib import Path

import pytest
from inline_snapshot import snapshot
from typer.testing import CliRunner

from tools.extract import (
    CodeBlock,
    ExtractedFile,
    NoCodeError,
    apply_layout,
    describe_blocks,
    extract_files,
    find_blocks,
    guess_language,
    normalise_language,
)
from tools.extract.cli import make_app

ANSWERS = Path(__file__).parent / "fixtures" / "answers"


def answer(name: str) -> str:
    """A saved answer, byte for byte (CRLF stays CRLF)."""
    return (ANSWERS / name).read_bytes().decode("utf-8")


def between(text: str, start: str, end: str) -> str:
    """The slice of `text` from `start` up to and including `end` (both must occur once)."""
    assert text.count(start) == 1 and text.count(end) == 1, (start, end)
    first = text.index(start)
    return text[first : text.index(end, first) + len(end)]


def layout(text: str) -> list[tuple[str, str | None, int, str]]:
    return [(f.name, f.language, f.block_index, f.origin) for f in extract_files(text).files]


# --- the saved answers ------------------------------------------------------------------------


@pytest.mark.parametrize("fixture", sorted(path.name for path in ANSWERS.glob("*.txt")))
def test_every_block_is_a_verbatim_slice(fixture: str) -> None:
    text = answer(fixture)
    blocks = find_blocks(text)
    position = 0
    for index, block in enumerate(blocks):
        assert block.index == index
        found = text.find(block.code, position)
        assert found >= 0, f"block {index} is not a slice of the answer"
        assert text.count("\n", 0, found) + 1 == block.line or not block.code
        position = found + len(block.code)
    if fixture != "no_code.txt":
        for file in extract_files(text).files:
            assert file.content == blocks[file.block_index].code


def test_single_html_document_without_fence() -> None:
    text = answer("single_html_unfenced.txt")
    extraction = extract_files(text)
    assert [(f.name, f.language) for f in extraction.files] == [("index.html", "html")]
    assert extraction.files[0].content == between(text, "<!DOCTYPE html>", "</html>\n")
    assert not extraction.ambiguous
    assert extraction.reason == "default names: index.html"


def test_html_block_with_prose_around_it() -> None:
    text = answer("html_fenced_prose.txt")
    (file,) = extract_files(text).files
    assert file.name == "index.html"
    assert file.content == between(text, "<!DOCTYPE html>", "</html>\n")


def test_three_files_named_by_headings_and_commands_left_out() -> None:
    text = answer("three_files_headings.txt")
    extraction = extract_files(text)
    assert layout(text) == [
        ("index.html", "html", 0, "answer"),
        ("style.css", "css", 1, "answer"),
        ("game.js", "javascript", 2, "answer"),
    ]
    html, css, js = (file.content for file in extraction.files)
    assert html == between(text, "<!DOCTYPE html>", "</html>\n")
    assert css == between(text, "body {\n  background", "solid #fff;\n}\n")
    assert js == between(text, "const canvas", "\nupdate();\n")
    assert [block.language for block in extraction.blocks] == ["html", "css", "javascript", "shell"]
    assert extraction.reason == snapshot(
        "named in the answer: index.html, style.css, game.js; not files: block 3 (shell commands)"
    )
    assert not extraction.ambiguous


def test_untagged_blocks_joined_by_link_and_script_references() -> None:
    text = answer("untagged_refs.txt")
    extraction = extract_files(text)
    assert layout(text) == [
        ("index.html", "html", 0, "default"),
        ("css/main.css", "css", 1, "reference"),
        ("app.js", "javascript", 2, "reference"),
    ]
    assert extraction.files[1].content == between(text, "#todos {", "width: 100%;\n}\n")
    assert [block.language for block in extraction.blocks] == ["html", "css", "javascript"]
    assert not extraction.ambiguous
    assert extraction.reason == snapshot(
        "named by references: css/main.css, app.js; default names: index.html"
    )


def test_four_backtick_fence_keeps_the_inner_fence() -> None:
    text = answer("nested_four_backticks.txt")
    (block,) = find_blocks(text)
    assert block.code == between(text, "# make_readme.py", "    main()\n")
    assert "```bash\npython make_readme.py\n```\n" in block.code
    assert (block.language, block.name_hint, block.truncated) == ("python", "make_readme.py", False)
    assert layout(text) == [("make_readme.py", "python", 0, "answer")]


def test_markdown_fence_around_a_code_fence_is_unwrapped() -> None:
    # qwen2.5-coder-0.5b's HumanEval answers: ```markdown, then ```python, one closing fence
    text = answer("markdown_wrapped_python.txt")
    (block,) = find_blocks(text)
    assert block.code == between(text, "def truncate_number", "return decimal_part\n")
    assert (block.language, block.truncated) == ("python", False)
    assert layout(text) == [("main.py", "python", 0, "default")]


@pytest.mark.parametrize(
    "text",
    [
        "```md\n```js\na();\n```\n```\n",  # both fences closed: the stray one is empty
        "```\n\n```js\na();\n```\n",
    ],
)
def test_wrapper_fences(text: str) -> None:
    assert [(b.language, b.code) for b in find_blocks(text) if b.code] == [("javascript", "a();\n")]


def test_markdown_block_with_text_first_stays_markdown() -> None:
    text = "```markdown\n# Usage\n```bash\nnpm start\n```\n"
    assert [b.language for b in find_blocks(text)] == ["markdown"]


def test_crlf_answer_keeps_its_line_endings() -> None:
    text = answer("crlf_two_files.txt")
    assert "\r\n" in text
    files = extract_files(text).files
    assert [f.name for f in files] == ["index.html", "main.js"]
    assert files[0].content == between(text, "<!DOCTYPE html>", "</html>\r\n")
    assert files[1].content == "document.getElementById('msg').textContent = 'Hello, CRLF';\r\n"
    assert "\n" not in files[0].content.replace("\r\n", "")


def test_answer_without_code() -> None:
    assert find_blocks(answer("no_code.txt")) == []
    with pytest.raises(NoCodeError) as raised:
        extract_files(answer("no_code.txt"))
    assert str(raised.value) == "no code in the answer: it has no fenced code block and no HTML/code document"


def test_truncated_fence_keeps_what_was_written() -> None:
    text = answer("truncated.txt")
    (block,) = find_blocks(text)
    assert block.truncated
    assert block.code == text[text.index("<!DOCTYPE") :]
    assert block.code.endswith("ctx.fill\n")
    assert layout(text) == [("index.html", "html", 0, "default")]


def test_lazy_skeleton_is_still_extracted() -> None:
    text = answer("deepseek_lazy.txt")
    (file,) = extract_files(text).files
    assert file.content == between(text, "<!DOCTYPE html>", "</html>\n")
    assert "// rest of the script... (removed for brevity)" in file.content


def test_bold_names_in_a_list_file_label_and_prose() -> None:
    text = answer("bold_list_names.txt")
    blocks = find_blocks(text)
    assert [(b.name_hint, b.name_source) for b in blocks] == [
        ("index.html", "label"),
        ("widget.css", "label"),
        ("widget.js", "label"),
        ("format.js", "prose"),
    ]
    # A fence indented inside a list item: the code keeps its indentation, byte for byte.
    assert blocks[1].code == "   #weather { font: 16px sans-serif; }\n"
    assert layout(text) == [
        ("index.html", "html", 0, "answer"),
        ("widget.css", "css", 1, "answer"),
        ("widget.js", "javascript", 2, "answer"),
        ("format.js", "javascript", 3, "answer"),
    ]


def test_python_files_named_by_first_line_comments() -> None:
    text = answer("python_comment_names.txt")
    extraction = extract_files(text)
    assert layout(text) == [("main.py", "python", 1, "answer"), ("utils.py", "python", 2, "answer")]
    assert extraction.files[0].content.startswith("# main.py\nfrom utils import fetch_title\n")
    assert extraction.reason == snapshot(
        "named in the answer: main.py, utils.py; not files: block 0 (shell commands)"
    )


def test_two_unnamed_blocks_of_one_language_are_ambiguous() -> None:
    extraction = extract_files(answer("ambiguous_two_js.txt"))
    assert extraction.ambiguous
    assert [(f.name, f.block_index) for f in extraction.files] == [("script.js", 1)]
    assert extraction.reason == snapshot(
        "2 unnamed javascript blocks: kept the longest (block 1) as script.js, left out block 0 "
        "(default names: script.js)"
    )


# --- fences --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("```js\na();\n```\n", ["a();\n"]),
        ("~~~python\nx = 1\n~~~\n", ["x = 1\n"]),
        ("`````\n````\ninner\n````\n`````\n", ["````\ninner\n````\n"]),
        ("~~~\n```\nnot a close\n```\n~~~\n", ["```\nnot a close\n```\n"]),
        ("```\na\n`````\nafter\n", ["a\n"]),  # a longer fence closes
        ("```\na\n```   \n", ["a\n"]),  # trailing spaces after the close
        ("```\na\n``` not a close\n```\n", ["a\n``` not a close\n"]),
        ("```\n```\n", [""]),
        ("```js\na();\n```", ["a();\n"]),  # no newline at the end
        ("```js\na();", ["a();"]),  # cut off without a newline
        ("```js", [""]),
        ("Use ```inline``` code.\n```\nb\n```\n", ["b\n"]),  # backticks in the info: not a fence
        ("  ```js\n  a();\n  ```\n", ["  a();\n"]),
        ("```a\n1\n```\ntext\n```b\n2\n```\n", ["1\n", "2\n"]),
    ],
)
def test_fences(text: str, codes: list[str]) -> None:
    assert [block.code for block in find_blocks(text)] == codes


def test_truncated_flag() -> None:
    assert [b.truncated for b in find_blocks("```\na\n```\n```\nb\n")] == [False, True]


def test_reasoning_section_is_skipped() -> None:
    text = "<think>\nDraft:\n```js\nlet draft = 1;\n```\n</think>\n\n```js\nlet final = 2;\n```\n"
    assert [b.code for b in find_blocks(text)] == ["let final = 2;\n"]
    with pytest.raises(NoCodeError, match="it stops inside its <think> part"):
        extract_files("<think>\nI will write ```js\nlet a = 1;\n")


def test_unfenced_python_answer_is_one_block() -> None:
    text = (
        "Here is the script:\n\nimport sys\n\n\ndef main():\n    print(sys.argv)\n\n\nmain()\n\n"
        "Run it with any arguments you like to see them.\n"
    )
    (block,) = find_blocks(text)
    assert block.code == "import sys\n\n\ndef main():\n    print(sys.argv)\n\n\nmain()\n"
    assert layout(text) == [("main.py", "python", 0, "default")]


def test_unfenced_html_after_fences_is_found() -> None:
    text = "<!DOCTYPE html>\n<html><body></body></html>\nThen run:\n```bash\nopen index.html\n```\n"
    assert [(b.language, b.code) for b in find_blocks(text)] == [
        ("html", "<!DOCTYPE html>\n<html><body></body></html>\n"),
        ("shell", "open index.html\n"),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Just prose, with a `code span` and a sentence that goes on for a while.",
        "## Steps\n\n1. Install node\n2. Run `npx serve`\n3. Open the page in your browser\n",
    ],
)
def test_prose_is_not_code(text: str) -> None:
    assert find_blocks(text) == []


# --- languages and names -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tag", "language"),
    [
        ("js", "javascript"),
        ("JavaScript", "javascript"),
        ("mjs", "javascript"),
        ("py", "python"),
        ("python3", "python"),
        ("ts", "typescript"),
        ("tsx", "tsx"),
        ("jsx", "jsx"),
        ("sh", "shell"),
        ("bash", "shell"),
        ("console", "shell"),
        ("{.python}", "python"),
        ("htm", "html"),
        ("c++", "cpp"),
        ("yml", "yaml"),
        ("plaintext", "text"),
        ("elixir", "elixir"),
        ("", None),
        (None, None),
    ],
)
def test_language_tags(tag: str | None, language: str | None) -> None:
    assert normalise_language(tag) == language


@pytest.mark.parametrize(
    ("code", "language"),
    [
        ("<!DOCTYPE html>\n<html></html>", "html"),
        ("<div>\n  <p>Hi</p>\n</div>", "html"),
        ("body {\n  margin: 0;\n}\n\n.a, .b {\n  color: red;\n}", "css"),
        ("const a = 1;\ndocument.body.append(a);", "javascript"),
        ("function f() {\n  return 1;\n}", "javascript"),
        ("interface P { x: number }\nexport function f(p: P): number { return p.x; }", "typescript"),
        ("export default function App() {\n  return (\n    <div className='a' />\n  );\n}", "jsx"),
        ("import os\n\n\ndef main():\n    print(os.getcwd())", "python"),
        ('if __name__ == "__main__":\n    main()', "python"),
        ("SELECT name FROM users WHERE id = 1;", "sql"),
        ('{"a": [1, 2]}', "json"),
        ("npm install\nnpm run dev", "shell"),
        ("$ pip install requests", "shell"),
        ("#!/usr/bin/env python3\nprint(1)", "python"),
        ("my-app/\n├── index.html\n└── app.js", "text"),
        ("Hello world\n42", None),
        ("", None),
    ],
)
def test_guess_language(code: str, language: str | None) -> None:
    assert guess_language(code) == language


@pytest.mark.parametrize(
    ("text", "hint", "source"),
    [
        ("```js game.js\na();\n```", "game.js", "fence"),
        ('```html title="index.html"\n<p></p>\n```', "index.html", "fence"),
        ("```jsx filename=src/App.jsx\nx\n```", "src/App.jsx", "fence"),
        ("```javascript:src/util.js\nx\n```", "src/util.js", "fence"),
        ("```index.css\nbody {}\n```", "index.css", "fence"),
        ("### `style.css`\n\n```css\nbody {}\n```", "style.css", "label"),
        ("### 2. Styles (style.css)\n```css\nbody {}\n```", "style.css", "label"),
        ("## src/App.tsx\n```tsx\nx\n```", "src/App.tsx", "label"),
        ("**game.js**\n```js\nx\n```", "game.js", "label"),
        ("File: game.js\n```js\nx\n```", "game.js", "label"),
        ("- **Filename:** `main.py`\n```python\nx = 1\n```", "main.py", "label"),
        ("### index.html\nThe page:\n\n```html\n<p></p>\n```", "index.html", "label"),
        ("```js\n// game.js\nx\n```", "game.js", "comment"),
        ("```js\n// File: src/game.js - the loop\nx\n```", "src/game.js", "comment"),
        ("```css\n/* style.css */\nbody {}\n```", "style.css", "comment"),
        ("```html\n<!-- index.html -->\n<p></p>\n```", "index.html", "comment"),
        ("```python\n#!/usr/bin/env python3\n# tool.py\nx = 1\n```", "tool.py", "comment"),
        ("Save this as `game.js`:\n```js\nx\n```", "game.js", "prose"),
        ("Create `style.css` next to index.html:\n```css\nb {}\n```", "style.css", "prose"),
        ("Dockerfile:\n```\nFROM python:3.11\n```", "Dockerfile", "prose"),
    ],
)
def test_name_hints(text: str, hint: str, source: str) -> None:
    (block,) = find_blocks(text)
    assert (block.name_hint, block.name_source) == (hint, source)


@pytest.mark.parametrize(
    "text",
    [
        "Here's the Node.js server:\n```js\nx\n```",  # a library, not a file
        "Add this to your `index.html`:\n```javascript\nx\n```",  # names another file
        "### index.html\n"
        + "This paragraph explains the page in far more words than a label ever would. " * 2
        + "\n```js\nx\n```",
        "### Styles\n**index.html**\n\nThe layout:\n\n```css\nb {}\n```",  # a heading stops the search
        "Link both `style.css` and `game.js`:\n```html\n<p></p>\n```",  # two names: which?
        "```js\n// This is the game.js logic\nx\n```",  # a sentence, not a name
        "```js\nx\n```\n**game.js**\n```js\ny\n```",  # the label belongs to the next block
    ],
)
def test_no_name_hint(text: str) -> None:
    assert find_blocks(text)[0].name_hint is None


def test_untagged_block_takes_the_language_of_its_name() -> None:
    (block,) = find_blocks("**notes.yaml**\n```\nnot obviously yaml\n```")
    assert block.language == "yaml"


# --- layouts ----------------------------------------------------------------------------------


def test_unknown_block_takes_the_reference_left_over() -> None:
    text = '```html\n<script src="engine.js"></script>\n```\n```\nsomething odd\n```\n'
    extraction = extract_files(text)
    assert [(f.name, f.language) for f in extraction.files] == [
        ("index.html", "html"),
        ("engine.js", "javascript"),
    ]
    assert extraction.ambiguous
    assert extraction.reason.startswith("block 1 has no known language: took it as engine.js")


def test_unknown_block_without_reference_is_left_out() -> None:
    extraction = extract_files("```js\nlet a = 1;\n```\n```\nHello world\n```\n")
    assert [f.name for f in extraction.files] == ["script.js"]
    assert extraction.ambiguous
    assert extraction.reason == "block 1 has no known language: left out (default names: script.js)"


def test_same_name_twice_keeps_the_named_longest() -> None:
    text = "**app.js**\n```js\nlet a = 1;\n```\nUpdated **app.js**:\n```js\nlet a = 2;\nlet b = 3;\n```\n"
    extraction = extract_files(text)
    assert [(f.name, f.block_index) for f in extraction.files] == [("app.js", 1)]
    assert extraction.ambiguous
    assert (
        extraction.reason == "blocks 0, 1 share the name app.js: kept block 1 (named in the answer: app.js)"
    )


def test_identical_repeats_are_not_ambiguous() -> None:
    text = "**a.js**\n```js\nx();\n```\nAgain, **a.js**:\n```js\nx();\n```\n"
    extraction = extract_files(text)
    assert len(extraction.files) == 1 and not extraction.ambiguous


def test_default_names_and_package_json() -> None:
    text = (
        '```json\n{"name": "x", "scripts": {"dev": "vite"}}\n```\n'
        "```tsx\nexport default function App() { return null; }\n```\n"
        "```sql\nSELECT 1;\n```\n"
        "```text\nsome output\n```\n"
        "```\nmy-app/\n└── src/\n```\n"
    )
    extraction = extract_files(text)
    assert [(f.name, f.origin) for f in extraction.files] == [
        ("package.json", "default"),
        ("App.tsx", "default"),
        ("query.sql", "default"),
    ]
    assert extraction.reason == snapshot(
        "default names: package.json, App.tsx, query.sql; "
        "not files: block 3 (plain text), block 4 (a directory tree)"
    )


def test_prose_in_a_fence_is_not_a_file() -> None:
    extraction = extract_files(
        "```html\n<p>Hi</p>\n```\n```\nOpen index.html in your browser to play.\n```\n"
    )
    assert [f.name for f in extraction.files] == ["index.html"]
    assert not extraction.ambiguous
    assert extraction.reason == "default names: index.html; not files: block 1 (prose)"


def test_a_shell_script_is_a_file_but_commands_are_not() -> None:
    text = "```bash\n#!/bin/sh\necho hi\n```\n```bash\nnpm install\n```\n"
    assert layout(text) == [("script.sh", "shell", 0, "default")]
    with pytest.raises(NoCodeError, match=r"block 0 \(shell commands\)"):
        extract_files("```bash\nnpm install\nnpm start\n```\n")


def test_js_import_names_an_unnamed_module() -> None:
    text = (
        "**main.js**\n```js\nimport { add } from './math';\n```\n"
        "```js\nexport const add = (a, b) => a + b;\n```\n"
    )
    assert layout(text) == [("main.js", "javascript", 0, "answer"), ("math.js", "javascript", 1, "reference")]


def test_vite_entry_point_reference() -> None:
    text = (
        '```html\n<script type="module" src="/src/main.tsx"></script>\n```\n'
        "```tsx\nimport App from './App';\ncreateRoot(el).render(<App />);\n```\n"
    )
    assert layout(text) == [("index.html", "html", 0, "default"), ("src/main.tsx", "tsx", 1, "reference")]


# --- apply_layout and describe_blocks ------------------------------------------------------------


def test_apply_layout() -> None:
    blocks = find_blocks(answer("ambiguous_two_js.txt"))
    files = apply_layout(blocks, {1: "game.js", 0: "./setup.js"})
    assert files == [
        ExtractedFile("setup.js", "javascript", blocks[0].code, 0, "layout"),
        ExtractedFile("game.js", "javascript", blocks[1].code, 1, "layout"),
    ]
    assert apply_layout(blocks, {1: "game.js"}) == [files[1]]


def test_apply_layout_rejects_unknown_blocks_and_shared_names() -> None:
    blocks = find_blocks(answer("ambiguous_two_js.txt"))
    with pytest.raises(ValueError, match=r"^no block 5 in the answer \(its blocks are 0, 1\)$"):
        apply_layout(blocks, {5: "x.js"})
    with pytest.raises(ValueError, match="^blocks 0 and 1 are both named Game.js: one block per file$"):
        apply_layout(blocks, {0: "game.js", 1: "Game.js"})


def test_apply_layout_gives_a_language_from_the_name() -> None:
    block = CodeBlock(index=0, language=None, code="x", name_hint=None, truncated=False)
    assert apply_layout([block], {0: "a.py"})[0].language == "python"


def test_describe_blocks() -> None:
    blocks = find_blocks(answer("untagged_refs.txt") + "\n```bash\nnpm i\n```\n")
    described = describe_blocks(blocks)
    assert described == snapshot(
        """\
block 0: html, no name, 12 lines
    | <!DOCTYPE html>
    | <html>
    loads: ./css/main.css, https://cdn.jsdelivr.net/npm/dayjs@1/dayjs.min.js, app.js
block 1: css, no name, 8 lines
    | #todos {
    | list-style: none;
block 2: javascript, no name, 10 lines
    | const list = document.getElementById('todos');
    | const input = document.getElementById('new-todo');
block 3: shell, no name, 1 line, probably not a file: shell commands
    | npm i\
"""
    )
    assert "createElement" not in described  # no code past the first two lines


def test_describe_truncated_and_named_blocks() -> None:
    assert describe_blocks(find_blocks("**x.py**\n```python\nimport os\n" + "a = 1\n" * 3)) == snapshot(
        """\
block 0: python, name hint x.py, 4 lines, cut off
    | import os
    | a = 1
    loads: os\
"""
    )


# --- the command line ---------------------------------------------------------------------------

runner = CliRunner()
app = make_app()


def test_cli_writes_files_and_lists_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = runner.invoke(app, [str(ANSWERS / "three_files_headings.txt"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout == "index.html  287 bytes\nstyle.css  134 bytes\ngame.js  783 bytes\n"
    assert result.stderr == ""
    text = answer("three_files_headings.txt")
    assert (out / "index.html").read_text() == between(text, "<!DOCTYPE html>", "</html>\n")


def test_cli_keeps_crlf_bytes(tmp_path: Path) -> None:
    result = runner.invoke(app, [str(ANSWERS / "crlf_two_files.txt"), "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert (
        tmp_path / "main.js"
    ).read_bytes() == b"document.getElementById('msg').textContent = 'Hello, CRLF';\r\n"


def test_cli_reads_stdin_and_warns(tmp_path: Path) -> None:
    result = runner.invoke(app, ["-", "--out", str(tmp_path)], input=answer("ambiguous_two_js.txt"))
    assert result.exit_code == 0
    assert result.stdout == "script.js  278 bytes\n"
    assert result.stderr.startswith("warning: ambiguous layout, guessed: 2 unnamed javascript blocks")


def test_cli_warns_about_placeholders_and_cut_off_code(tmp_path: Path) -> None:
    lazy = runner.invoke(app, [str(ANSWERS / "deepseek_lazy.txt"), "--out", str(tmp_path / "a")])
    assert lazy.stderr.startswith("warning: placeholder at index.html line 15")
    cut = runner.invoke(app, [str(ANSWERS / "truncated.txt"), "--out", str(tmp_path / "b")])
    assert cut.stderr == "warning: block 0 was cut off before its end\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["missing.txt"], 2, "error: missing.txt: no such file\n"),
        (
            [str(ANSWERS / "no_code.txt")],
            1,
            "error: no code in the answer: it has no fenced code block and no HTML/code document\n",
        ),
    ],
)
def test_cli_bad_input_is_one_line(tmp_path: Path, args: list[str], code: int, message: str) -> None:
    result = runner.invoke(app, [*args, "--out", str(tmp_path)])
    assert (result.exit_code, result.stderr, result.stdout) == (code, message, "")


def test_cli_unsafe_name(tmp_path: Path) -> None:
    source = tmp_path / "answer.txt"
    source.write_text("```js ../../evil.js\nx();\n```\n")
    result = runner.invoke(app, [str(source), "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert (
        result.stderr
        == "error: unsafe file name '../../evil.js': it climbs out of the output folder with ..\n"
    )
    assert not (tmp_path / "evil.js").exists()


def test_cli_existing_files_need_force(tmp_path: Path) -> None:
    args = [str(ANSWERS / "html_fenced_prose.txt"), "--out", str(tmp_path)]
    (tmp_path / "index.html").write_text("old")
    refused = runner.invoke(app, args)
    assert (refused.exit_code, refused.stderr) == (
        2,  # bad input: the user decides with --force
        f"error: {tmp_path}/index.html exists: pass --force to overwrite\n",
    )
    assert (tmp_path / "index.html").read_text() == "old"
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0
    assert (tmp_path / "index.html").read_text().startswith("<!DOCTYPE html>")


def test_cli_not_utf8(tmp_path: Path) -> None:
    source = tmp_path / "answer.txt"
    source.write_bytes(b"```js\n\xff\n```\n")
    result = runner.invoke(app, [str(source), "--out", str(tmp_path / "out")])
    assert (result.exit_code, result.stderr) == (2, f"error: {source}: not UTF-8 text\n")


def test_runs_as_a_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`python -m tools.extract` (run in-process: a new interpreter costs seconds here)."""
    source = tmp_path / "answer.txt"
    source.write_text("```python\nprint('hi')\n```\n")
    monkeypatch.setattr(sys, "argv", ["extract", str(source), "--out", str(tmp_path / "out")])
    with warnings.catch_warnings(), pytest.raises(SystemExit) as exited:
        warnings.simplefilter("ignore", RuntimeWarning)  # "found in sys.modules": expected here
        runpy.run_module("tools.extract", run_name="__main__")
    assert exited.value.code == 0
    assert capsys.readouterr() == ("main.py  12 bytes\n", "")

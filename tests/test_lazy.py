"""Placeholders a lazy model writes are found; ordinary code that looks similar is not."""

from pathlib import Path

import pytest
from inline_snapshot import snapshot

from tools.extract import ExtractedFile, extract_files
from tools.lazy import LazyVerdict, Placeholder, find_placeholders, lazy_verdict

ANSWERS = Path(__file__).parent / "fixtures" / "answers"


# (language, code, line of the placeholder, its kind)
LAZY = [
    ("javascript", "function init() {\n  // ... rest of the code\n}", 2, "rest-of-code"),
    ("javascript", "// rest of script... (removed for brevity)", 1, "rest-of-code"),
    ("javascript", "// Rest of the game logic goes here", 1, "todo-implement"),
    ("javascript", "draw();\n// ... rest", 2, "rest-of-code"),
    ("javascript", "function a() {}\n// remaining code\n", 2, "rest-of-code"),
    ("python", "def main():\n    # TODO: implement", 2, "todo-implement"),
    ("python", "def main():\n    pass  # TODO: implement the game loop", 2, "todo-implement"),
    ("javascript", "function collide() {\n  // TODO: implement collision detection\n}", 2, "todo-implement"),
    ("javascript", "function update() {\n  // your code here\n}", 2, "todo-implement"),
    ("javascript", "function update() {\n  // Add your game logic here\n}", 2, "todo-implement"),
    ("css", "/* Add your styles here */", 1, "todo-implement"),
    ("javascript", "// Implement the scoring here", 1, "todo-implement"),
    ("css", "body { margin: 0; }\n/* remaining styles */", 2, "remaining-markup"),
    ("css", "body { margin: 0; }\n/* ... rest of the CSS ... */", 2, "remaining-markup"),
    ("html", "<body>\n  <!-- remaining markup -->\n</body>", 2, "remaining-markup"),
    ("html", "<body>\n  <div id=a></div>\n  <!-- more buttons -->\n</body>", 3, "remaining-markup"),
    ("javascript", "function draw() {\n  // (same as before)\n}", 2, "same-as-before"),
    ("javascript", "// draw() is unchanged", 1, "same-as-before"),
    ("python", "# the rest stays the same", 1, "same-as-before"),
    ("javascript", "// other methods remain the same", 1, "same-as-before"),
    ("javascript", "class A {\n  // ... existing code ...\n}", 2, "existing-code"),
    ("javascript", "// existing functions...", 1, "existing-code"),
    ("javascript", "function createPiece(type) {\n  // ... piece definitions\n}", 2, "ellipsis-comment"),
    ("javascript", "// piece shapes omitted for brevity", 1, "omitted-for-brevity"),
    ("javascript", "// helper functions not shown", 1, "omitted-for-brevity"),
    ("javascript", "function update() {\n  ...\n}", 2, "ellipsis-body"),
    ("javascript", "function update() {\n  // ...\n}", 2, "ellipsis-body"),
    ("javascript", "function update() {\n  /* ... */\n}", 2, "ellipsis-body"),
    ("html", "<body>\n  <!-- ... -->\n</body>", 2, "ellipsis-body"),
    ("python", "def main():\n    ...", 2, "ellipsis-body"),
    ("python", 'def main():\n    """Run the game."""\n    ...', 3, "ellipsis-body"),
    ("python", "def main(): ...", 1, "ellipsis-body"),
    ("python", "def main():\n    setup()\n    ...\n    run()", 3, "ellipsis-body"),
    ("python", "class Game:\n    def step(self) -> None:\n        ...", 3, "ellipsis-body"),
    ("python", "def main():\n    # ...", 2, "ellipsis-body"),
    (None, "class Game {\n  ...\n}", 2, "ellipsis-body"),
    (None, "def main():\n    ...\n", 2, "ellipsis-body"),
    ("javascript", "let a = 1;\n[... rest of the code ...]", 2, "rest-of-code"),
    ("javascript", "function a() {\n  // other helper functions\n}", 2, "rest-of-code"),
    ("javascript", "const a = 1;\n// ... more functions ...", 2, "rest-of-code"),
    (None, "<script>\n// rest of the code\n</script>", 2, "rest-of-code"),
    (None, "body { margin: 0 }\n/* remaining styles */", 2, "remaining-markup"),
    ("sql", "SELECT 1;\n-- rest of the queries omitted for brevity", 2, "omitted-for-brevity"),
    # the signature and docstring copied from a HumanEval prompt, no code (qwen2.5-coder-0.5b)
    (
        "python",
        'def gcd(a: int, b: int) -> int:\n    """ Return the gcd.\n    >>> gcd(3, 5)\n    1\n    """\n',
        1,
        "empty-body",
    ),
    ("python", 'class A:\n    def run(self):\n        """Run."""\n        pass\n', 2, "empty-body"),
]


@pytest.mark.parametrize(("language", "code", "line", "kind"), LAZY)
def test_placeholders_are_found(language: str | None, code: str, line: int, kind: str) -> None:
    found = find_placeholders(code, language)
    assert [(p.line, p.kind) for p in found] == [(line, kind)]
    assert found[0].text == code.split("\n")[line - 1].strip()


# Ordinary code that merely looks like a placeholder.
COMPLETE = [
    ("javascript", "if (x >= width) {\n  // TODO: handle wrap-around\n  x = 0;\n}"),
    ("javascript", "// TODO: add sound effects later\nplay();"),
    ("javascript", "function f(...args) {\n  return [...board, ...args];\n}"),
    ("javascript", "const merged = {\n  ...defaults,\n  ...options,\n};"),
    ("jsx", "return <Tile {...props} />;"),
    ("javascript", "const [first, ...rest] = items;\nconst rest2 = rest.length;"),
    ("javascript", "// Call the REST API for the high scores\nfetch('/api/scores');"),
    ("javascript", "// clear the remaining lines that are full\nsweep();"),
    ("javascript", "// move the rest of the board down\nshift();"),
    ("javascript", "// update the rest of the game state\nstate.tick();"),
    ("javascript", "const msg = '// rest of the code';\nconsole.log(\"TODO: implement\");"),
    ("javascript", "const tpl = `\n  // rest of the code\n`;"),
    ("javascript", "alert('Loading...');\nlabel.textContent = '...';"),
    ("javascript", "// Loading...\nshowSpinner();"),
    ("javascript", "// Other functions\nfunction a() {}\nfunction b() {}"),
    ("javascript", "// More helpers\nfunction a() {}"),
    ("javascript", "// Remaining lines are cleared here\nclearLines();"),
    ("javascript", "// We draw the board first and then\n// ...the pieces on top\ndraw();"),
    ("javascript", "/**\n * Rotate a piece.\n * @param {number[][]} m the matrix\n */"),
    ("javascript", "// remove items that are done\nitems = items.filter((i) => !i.done);"),
    ("javascript", "// the score is unchanged when nothing is cleared\nreturn score;"),
    ("javascript", "// fill in the grid with zeros\ngrid.fill(0);"),
    ("python", "from typing import Protocol\n\nclass Drawable(Protocol):\n    def draw(self) -> None: ..."),
    (
        "python",
        "class Drawable(Protocol):\n    def draw(\n        self,\n        scale: float,\n"
        "    ) -> None:\n        ...",
    ),
    ("python", "class Shape(ABC):\n    @abstractmethod\n    def area(self) -> float:\n        ..."),
    ("python", "class Base:\n    @abc.abstractmethod\n    def run(self):\n        ..."),
    ("python", "@overload\ndef f(x: int) -> int: ...\n@overload\ndef f(x: str) -> str: ..."),
    ("python", "class Empty(Exception):\n    ..."),
    ("python", "class Empty(Exception): ..."),
    ("python", "Handler = Callable[..., Awaitable[None]]\nshape: tuple[int, ...] = (1, 2)"),
    ("python", "x = grid[..., 0]\nprint(...)"),
    ("python", 'def f():\n    """TODO: implement caching one day."""\n    return 1'),
    ("python", "# Rest API client\nimport httpx"),
    ("python", "rest = line[1:]  # the rest of the line\nprint(rest)"),
    ("python", "for row in remaining_rows:\n    clear(row)"),
    ("css", "#rest-of-board { color: red; }\n.more-buttons { display: flex; }"),
    ("css", "a { background: url(http://example.com/x.png); }"),
    ("html", '<a href="http://example.com/rest-of-the-code">rest of the code</a>'),
    ("html", "<p>Loading...</p>\n<p>Don't stop // rest of the code</p>"),
    ("html", "<!-- Game board -->\n<canvas id=game></canvas>"),
    ("html", "<div>\n  <!-- More buttons -->\n  <button>Go</button>\n</div>"),
    ("markdown", "# Notes\n\n...\n\nThe rest of the code is in game.js."),
    (None, "def main():\n    print('hi')\n\nmain()"),
    # Comments seen in real, complete code (found by running this over site-packages)
    ("python", "# if that fails just read the rest of the file\ndata = f.read()"),
    ("python", "# move the axes to the end for simplicity:\nx = x.T"),
    ("python", "# `hook` used to be implemented by creating a full copy\nhook = make()"),
    ("python", "# Not implemented by `OtherModel`: it has no endpoint.\nraise NotImplementedError"),
    ("python", "# Same as above but with active greenlets\nrun()"),
    ("python", "# keys are unchanged.\nreturn keys"),
    ("python", "# an unsupported one the graph counted is left out here.\nreturn tools"),
    ("python", "# Nonzero (and some other functions) should be threadsafe\n# for all dtypes\ncheck()"),
    ("python", "# block, needs special handling in the rest of the file\nendifs = 'end'"),
    ("python", "# You want to do this:\n#\n#   def f(x):\n#       ...\n#\nf(1)"),
    (
        "python",
        "if TYPE_CHECKING:\n    def close(self) -> None: ...\n    def open(self) -> None:\n        ...",
    ),
    ("python", "specs: typing.Tuple[\n    int,\n    ...\n] = ()"),
    ("python", "class Session(Protocol):\n    @property\n    def name(self) -> str: ..."),
    ("javascript", "/*\n * Rest of the file handles input.\n */\nhandleInput();"),
    ("python", 'class Base(ABC):\n    @abstractmethod\n    def run(self):\n        """Run it."""\n'),
    ("python", 'class Port(Protocol):\n    def send(self) -> None:\n        """Send."""\n'),
    ("python", 'def f():\n    """Doc."""\n    return 1\n'),
    ("python", 'class Stop(Exception):\n    """Raised to stop."""\n'),
    (None, ""),
]


@pytest.mark.parametrize(("language", "code"), COMPLETE)
def test_complete_code_is_not_flagged(language: str | None, code: str) -> None:
    assert find_placeholders(code, language) == []


def test_deepseek_skeleton_is_lazy() -> None:
    extraction = extract_files((ANSWERS / "deepseek_lazy.txt").read_text())
    verdict = lazy_verdict(extraction.files)
    assert verdict.lazy
    assert [(p.file, p.line, p.kind, p.text) for p in verdict.placeholders] == snapshot(
        [
            ("index.html", 15, "remaining-markup", "/* remaining styles */"),
            ("index.html", 29, "ellipsis-comment", "// ... piece definitions"),
            ("index.html", 33, "todo-implement", "// TODO: implement collision detection"),
            ("index.html", 36, "rest-of-code", "// rest of the script... (removed for brevity)"),
        ]
    )
    assert verdict.reason() == snapshot(
        "placeholder at index.html line 15: '/* remaining styles */' (and 3 more placeholders)"
        " — write the complete code with nothing left out"
    )


def test_complete_answers_are_not_lazy() -> None:
    for fixture in ("three_files_headings.txt", "single_html_unfenced.txt", "python_comment_names.txt"):
        files = extract_files((ANSWERS / fixture).read_text()).files
        assert lazy_verdict(files) == LazyVerdict(lazy=False, placeholders=[]), fixture


def test_a_plain_string_is_judged_too() -> None:
    verdict = lazy_verdict("function go() {\n  // ... rest of the code\n}\n")
    assert verdict == LazyVerdict(
        lazy=True, placeholders=[Placeholder(2, "// ... rest of the code", "rest-of-code")]
    )
    assert verdict.reason() == snapshot(
        "placeholder at line 2: '// ... rest of the code' — write the complete code with nothing left out"
    )


def test_joined_blocks_of_several_languages() -> None:
    """The generator joins all blocks into one text before asking."""
    joined = "body { margin: 0; }\n/* remaining styles */\n\nconst a = [...b];\n"
    assert [p.kind for p in lazy_verdict(joined).placeholders] == ["remaining-markup"]


def test_python_stub_in_a_joined_text() -> None:
    code = "class Drawable(Protocol):\n    def draw(self) -> None:\n        ...\n"
    assert lazy_verdict(code).lazy is False


def test_crlf_lines_and_long_text() -> None:
    code = "let a = 1;\r\n// rest of the code (" + "x" * 100 + ")\r\n"
    (placeholder,) = find_placeholders(code, "javascript")
    assert placeholder.line == 2
    assert not placeholder.text.endswith("\r")
    reason = LazyVerdict(True, [placeholder]).reason()
    assert "..." in reason and len(reason) < 160


def test_not_lazy_reason() -> None:
    assert LazyVerdict(lazy=False, placeholders=[]).reason() == "no placeholders: the code looks complete"


def test_files_use_their_names_language() -> None:
    files = [
        ExtractedFile("main.py", None, "def main():\n    ...\n", 0),
        ExtractedFile("notes.md", None, "...\n", 1),
    ]
    assert [(p.file, p.kind) for p in lazy_verdict(files).placeholders] == [("main.py", "ellipsis-body")]


def test_docstring_only_answer_is_sent_back_with_its_function() -> None:
    text = (
        (ANSWERS / "markdown_wrapped_python.txt")
        .read_text()
        .replace(
            "    integer_part = int(number)\n    decimal_part = number - integer_part\n    return decimal_part\n",
            "",
        )
    )
    verdict = lazy_verdict(extract_files(text).files)
    assert verdict.lazy
    assert verdict.reason() == snapshot(
        "a function with only its docstring at main.py line 1: 'def truncate_number(number: float) -> float:' — write the complete code with nothing left out"
    )


def test_odd_line_breaks_and_nul_bytes_do_not_crash_the_check() -> None:
    # a lone "\r" is a line break to ast but not to the scanner: the line numbers must agree
    found = find_placeholders('x = 1\r\r\r\r\ndef f():\n    """Doc."""\n', "python")
    assert [(p.line, p.kind, p.text) for p in found] == [(2, "empty-body", "def f():")]
    assert find_placeholders('def f():\n    """Doc."""\n\x00', "python") == []  # ast refuses NUL

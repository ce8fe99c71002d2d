"""Fuzz the pure functions that read model output, at volume, and count what held.

    .venv/bin/python -m bench.fuzz [--minutes 3]

The functions: the extractor (`tools.extract.extract_files`), the lazy detector
(`tools.lazy.find_placeholders`, `lazy_verdict`), the file-name sanitizer
(`tools.files.safe_relative_path`, `write_files`) and the HumanEval sanitizer
(`evals.humaneval.sanitize`, `program`). Inputs come from hypothesis: random Unicode and
answers assembled from the pieces models (and attackers) write: fences of every length,
unclosed and nested fences, placeholders, NUL, lone CR, BOM, bidi controls, path tricks.

Each property says what must hold for any input: no exception but the documented ones
(NoCodeError, UnsafePathError), files that are verbatim slices of the answer, placeholder
lines that exist, names that never leave the output folder. `ADVERSARIAL` holds inputs
that were quadratic once (they must now take about ten times as long at 200 kB as at
20 kB). tests/test_fuzz.py runs the same properties, bounded, in the normal test run.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import typer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from evals.humaneval import code_of, program, sanitize
from tools.extract import ExtractedFile, NoCodeError, extract_files
from tools.files import OutputExistsError, UnsafePathError, safe_relative_path, write_files
from tools.lazy import find_placeholders, lazy_verdict

# --- inputs ---------------------------------------------------------------------------

PIECES = [
    "```",
    "````",
    "~~~",
    "```python",
    "```html",
    "```js",
    "```markdown",
    "```\n```",
    "`",
    "\n",
    "\r",
    "\r\n",
    "\x00",
    "\ufeff",
    "\u202e",
    "\u200b",
    "\t",
    " ",
    "    ",
    "...",
    "…",
    "// ... rest of the code",
    "# ... existing code ...",
    "/* remaining styles */",
    "# TODO: implement",
    "<!-- rest of the page -->",
    "[... rest ...]",
    "pass",
    "/*",
    "*/",
    "<!--",
    "-->",
    "'",
    '"',
    '"""',
    "'''",
    "\\",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    "def f():",
    "def f(x):",
    "    return x",
    '    """doc"""',
    "class A:",
    "@abstractmethod",
    "async def g():",
    "if __name__ == '__main__':",
    "print(",
    "import os",
    "<!DOCTYPE html>",
    "<html>",
    "</html>",
    '<script src="a.js"></script>',
    '<link rel="stylesheet" href="s.css">',
    "<think>",
    "</think>",
    "### index.html",
    "**app.py**",
    "# file: ../../etc/passwd",
    "### ../x.py",
    "### /etc/x",
    "C:\\x.py",
    "~/x.py",
    "a/../../b.py",
    ".git/config",
    "CON.txt",
    "x" * 300,
    "é",
    "𝔘",
    "中文",
    "\U0001f600",
]
NAME_PIECES = [
    "..",
    ".",
    "/",
    "\\",
    "a",
    "b.py",
    "~",
    "C:",
    "CON",
    ".git",
    " ",
    "\x00",
    "\r",
    "\u202e",
    "\u200b",
    "é",
    "x" * 80,
    "%2e%2e",
    "file:",
    "//",
    ":",
    "*",
    "?",
]

answers = st.one_of(
    st.text(max_size=2000),
    st.lists(st.sampled_from(PIECES) | st.text(max_size=20), max_size=120).map("".join),
    st.lists(st.sampled_from(PIECES), max_size=60).map("\n".join),
)
names = st.one_of(st.text(max_size=120), st.lists(st.sampled_from(NAME_PIECES), max_size=12).map("".join))

# --- properties -----------------------------------------------------------------------


def check_extract(answer: str) -> None:
    """Files are verbatim slices of the answer; no exception but NoCodeError."""
    try:
        extraction = extract_files(answer)
    except NoCodeError as exc:
        assert len(str(exc)) < 2000, "a NoCodeError message is one line, not the answer"
        return
    for file in extraction.files:
        assert file.content in answer
        assert isinstance(file.name, str) and file.name


def check_lazy(answer: str) -> None:
    """Placeholders point at lines that exist; no exception, whatever the language."""
    lines = answer.split("\n")
    for language in (None, "python", "javascript", "html", "css"):
        for placeholder in find_placeholders(answer, language):
            assert 1 <= placeholder.line <= len(lines)
    lazy_verdict(answer)


def check_sanitizer(answer: str) -> None:
    """The HumanEval sanitizer and program builder never raise."""
    meta = SimpleNamespace(entry_point="f", original_prompt="def f(x):\n", test="def check(c):\n    pass\n")
    assert isinstance(sanitize(answer), str)
    code_of(answer, {}, "f")
    assert program(answer, {}, meta).endswith("check(f)\n")


def check_name(name: str) -> None:
    """A name is refused, or is a relative path that stays inside any folder."""
    try:
        path = safe_relative_path(name)
    except UnsafePathError:
        return
    assert not path.is_absolute() and ".." not in path.parts
    root = Path("/nonexistent-root")
    assert (root / path).resolve().is_relative_to(root)  # no symlinks under a fake root


def check_write(folder: Path, name: str) -> None:
    """Writing a file under a proposed name lands inside `folder` or is refused."""
    target = folder / "out"
    try:
        written = write_files(
            target, [ExtractedFile(name=name, language=None, content="x", block_index=0)], force=True
        )
    except (UnsafePathError, OutputExistsError):
        return
    except OSError as exc:  # a name the file system refuses (too long, ...): never outside
        assert not any(folder.parent.glob("*escape*")), exc
        return
    for item in written:
        assert (target / item.name).resolve().is_relative_to(target.resolve())
    for path in Path(folder).rglob("*"):
        assert path.resolve().is_relative_to(folder.resolve())


PROPERTIES: dict[str, Callable[[str], None]] = {
    "extract_files": check_extract,
    "lazy detector": check_lazy,
    "HumanEval sanitizer": check_sanitizer,
    "file-name sanitizer": check_name,
}

# --- adversarial inputs: linear time ---------------------------------------------------


def repeat(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


# name -> (function, input of about `size` characters). Each was quadratic once.
ADVERSARIAL: dict[str, tuple[Callable[[str], object], Callable[[int], str]]] = {
    "extract: bare fences": (check_extract, lambda n: repeat("```\n", n)),
    "extract: unclosed tilde fences": (check_extract, lambda n: repeat("~~~\n", n)),
    "extract: fence, line, fence": (check_extract, lambda n: repeat("```\nx\n", n)),
    "lazy: lines of ...": (lambda t: find_placeholders(t, "python"), lambda n: repeat("...\n", n)),
    "lazy: indented ...": (lambda t: find_placeholders(t, "python"), lambda n: repeat("    ...\n", n)),
    "lazy: ... after code": (lambda t: find_placeholders(t, None), lambda n: repeat("x = 1\n    ...\n", n)),
    "lazy: comment placeholders": (
        lambda t: find_placeholders(t, "javascript"),
        lambda n: repeat("// ... rest of the code\n\n", n),
    ),
    "lazy: comments of dots": (
        lambda t: find_placeholders(t, "python"),
        lambda n: repeat("# " + "." * 60 + "x\n", n),  # exponential: hours per line
    ),
    "lazy: bracket, spaces": (
        lambda t: find_placeholders(t, "python"),
        lambda n: repeat("[" + " " * 250 + "x\n", n),  # a regex took 99 s per line
    ),
    "lazy: ... word, spaces": (
        lambda t: find_placeholders(t, "python"),
        lambda n: "# ... a" + " " * n + "1",
    ),
    "sanitizer: never parses": (sanitize, lambda n: repeat("def f():\n", n)),
    "sanitizer: broken tail": (sanitize, lambda n: "def f():\n    return 1\nprint(\n" + repeat("x\n", n)),
}


def timed(function: Callable[[str], object], text: str) -> float:
    start = time.perf_counter()
    function(text)
    return time.perf_counter() - start


def growth(
    function: Callable[[str], object], make: Callable[[int], str], small: int = 20_000
) -> tuple[float, float]:
    """Best of two runs at `small` and at ten times that many characters."""
    a, b = make(small), make(small * 10)
    return min(timed(function, a) for _ in range(2)), min(timed(function, b) for _ in range(2))


# --- the counted run ------------------------------------------------------------------


@dataclass
class Tally:
    tried: int = 0
    held: int = 0
    failures: int = 0
    first_failure: str = ""


def fuzz(name: str, prop: Callable[[str], None], strategy: st.SearchStrategy[str], deadline: float) -> Tally:
    """Run `prop` on hypothesis inputs until `deadline`, counting every input tried."""
    tally = Tally()

    @settings(
        max_examples=10**9,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.generate],
    )
    @given(strategy)
    def run(value: str) -> None:
        if time.monotonic() > deadline:
            raise _Done
        tally.tried += 1
        try:
            prop(value)
        except Exception as exc:  # counted and shown, then the run goes on
            tally.failures += 1
            tally.first_failure = tally.first_failure or f"{type(exc).__name__}: {exc} on {value!r:.200}"
        else:
            tally.held += 1

    while time.monotonic() < deadline:
        try:
            run()
        except _Done:
            break
    return tally


class _Done(Exception):
    """The time for one property is up."""


def main(
    minutes: float = typer.Option(3.0, help="Total fuzzing time, shared by the properties."),
) -> None:
    """Fuzz every property for its share of `minutes`, then time the adversarial inputs."""
    share = minutes * 60 / (len(PROPERTIES) + 1)
    results: dict[str, Tally] = {}
    for name, prop in PROPERTIES.items():
        strategy = names if name == "file-name sanitizer" else answers
        results[name] = fuzz(name, prop, strategy, time.monotonic() + share)
    with tempfile.TemporaryDirectory(prefix="codecrew-fuzz-") as tmp:
        folder = Path(tmp) / "f"
        folder.mkdir()
        results["write_files"] = fuzz(
            "write_files", lambda name: check_write(folder, name), names, time.monotonic() + share
        )
    print(f"{'function':22} {'inputs tried':>13} {'held':>10} {'failed':>7}")
    for name, tally in results.items():
        print(f"{name:22} {tally.tried:13,} {tally.held:10,} {tally.failures:7,}")
        if tally.first_failure:
            print(f"  first failure: {tally.first_failure}")
    total = sum(t.tried for t in results.values())
    print(f"{'total':22} {total:13,} {sum(t.held for t in results.values()):10,}")
    print("\nadversarial inputs, best of 2 runs: 20 kB -> 200 kB")
    for name, (function, make) in ADVERSARIAL.items():
        small, large = growth(function, make)
        print(
            f"  {name:32} {small * 1000:8.1f} ms -> {large * 1000:8.1f} ms  (x{large / max(small, 1e-6):.1f})"
        )
    raise typer.Exit(1 if any(t.failures for t in results.values()) else 0)


if __name__ == "__main__":
    typer.run(main)

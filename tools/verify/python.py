"""The Python judges: it compiles; a script runs to the end in the sandbox (exit 0, no
traceback, stdin at end of input); a server or GUI program starts and stays up; test files
run with pytest.

Compiling happens in-process (`compile` never runs code). Everything else runs in
tools.sandbox with this virtualenv's interpreter, so the packages installed here (pytest,
FastAPI, uvicorn...) are importable and nothing else is. A program that needs a package not
installed here, or a display, is not verified (said why), not failed.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Mapping
from pathlib import PurePosixPath

from tools.verify.records import Check, Verdict, infrastructure, make_verdict, not_verified
from tools.verify.sandboxed import (
    TRACEBACK,
    HarnessFailure,
    head,
    outcome,
    run_in_sandbox,
    sandbox_python,
    tail,
    text_of,
)

SERVER_SECONDS = 3.0  # a server or GUI program must still be running after this long
SCRIPT_SECONDS = 20.0  # at most, for a script to run to its end
PYTEST_SECONDS = 40.0
_ENTRY_NAMES = ("main.py", "app.py", "__main__.py", "server.py", "run.py", "cli.py")
_SERVER = re.compile(
    r"^\s*(?:from|import)\s+(?:flask|fastapi|http\.server|socketserver|tkinter|pygame|aiohttp|uvicorn"
    r"|bottle|tornado|streamlit|turtle)\b"
    r"|\b(?:serve_forever|uvicorn\.run|mainloop)\s*\(|\bapp\.run\s*\(",
    re.M,
)
# import name -> what to pip install, for packages a generated program commonly needs.
KNOWN_PACKAGES = {
    "numpy": "numpy", "pandas": "pandas", "scipy": "scipy", "matplotlib": "matplotlib",
    "sklearn": "scikit-learn", "torch": "torch", "tensorflow": "tensorflow", "requests": "requests",
    "flask": "flask", "django": "django", "fastapi": "fastapi", "uvicorn": "uvicorn", "pygame": "pygame",
    "bs4": "beautifulsoup4", "PIL": "pillow", "yaml": "pyyaml", "cv2": "opencv-python",
    "aiohttp": "aiohttp", "httpx": "httpx", "pydantic": "pydantic", "sqlalchemy": "sqlalchemy",
    "click": "click", "rich": "rich", "tqdm": "tqdm", "jinja2": "jinja2", "streamlit": "streamlit",
    "bottle": "bottle", "tornado": "tornado", "psycopg2": "psycopg2-binary", "pymysql": "pymysql",
    "redis": "redis", "seaborn": "seaborn", "plotly": "plotly", "sympy": "sympy", "nltk": "nltk",
    "dotenv": "python-dotenv", "pytest": "pytest", "colorama": "colorama", "termcolor": "termcolor",
    "openai": "openai", "websockets": "websockets", "kivy": "kivy", "arcade": "arcade",
    "pyglet": "pyglet", "curses": "windows-curses", "lxml": "lxml", "selenium": "selenium",
}  # fmt: skip
_MISSING_MODULE = re.compile(r"ModuleNotFoundError: No module named '([\w.]+)'")
_NO_DISPLAY = ("no display name", "couldn't connect to display", "No available video device", "$DISPLAY")
_SERVER_ENV = {"SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "MPLBACKEND": "Agg"}


def is_server(files: Mapping[str, str | bytes]) -> bool:
    """A server or GUI program among the written Python files (test files aside)."""
    names = [name for name in files if name.endswith(".py") and not is_test_file(name)]
    return any(_SERVER.search(text_of(files, name)) for name in names)


def is_test_file(name: str) -> bool:
    base = PurePosixPath(name).name
    return base.endswith(".py") and (base.startswith("test_") or base.endswith("_test.py"))


def entry_script(names: list[str], files: Mapping[str, str | bytes]) -> str | None:
    """The script to run: a conventional name, else the one with a __main__ guard, else the
    only (or first) module that is not a test file."""
    scripts = [name for name in names if name.endswith(".py") and not is_test_file(name)]
    for wanted in _ENTRY_NAMES:
        for name in scripts:
            if PurePosixPath(name).name == wanted:
                return name
    guarded = [
        name for name in scripts if "__name__" in text_of(files, name) and "__main__" in text_of(files, name)
    ]
    if guarded:
        return guarded[0]
    return sorted(scripts, key=lambda n: (n.count("/"), n))[0] if scripts else None


async def judge_python(files: Mapping[str, str | bytes], timeout: float) -> Verdict:
    names = sorted(name for name in files if name.endswith(".py"))
    compiles = _compiles(files, names)
    tests = [name for name in names if is_test_file(name)]
    entry = entry_script(names, files)
    server = entry is not None and is_server(files)
    judge = "python-server" if server else "python" if entry else "pytest"
    checks = [compiles]
    if not compiles.passed:
        return make_verdict(judge, checks)
    python = sandbox_python()
    if entry is not None:
        ran = await (_stays_up(files, entry, python) if server else _runs(files, entry, python, timeout))
        if isinstance(ran, Verdict):
            return ran
        checks.append(ran)
    if tests:
        if importlib.util.find_spec("pytest") is None:
            reason = "pytest is not installed for the sandbox's Python (pip install pytest)"
            if entry is None:
                return not_verified(judge, reason, checks)
            checks.append(Check("pytest", False, f"not run: {reason}"))
            return not_verified(judge, reason, checks)
        tested = await _pytest(files, tests, python, timeout)
        if isinstance(tested, Verdict):
            return tested
        checks.append(tested)
    return make_verdict(judge, checks)


def _compiles(files: Mapping[str, str | bytes], names: list[str]) -> Check:
    for name in names:
        try:
            compile(text_of(files, name), name, "exec", dont_inherit=True)
        except SyntaxError as error:
            where = f"{name} line {error.lineno}" if error.lineno else name
            code = (error.text or "").rstrip()
            shown = f": {code.strip()}" if code.strip() else ""
            return Check("compiles", False, f"{type(error).__name__}: {error.msg} ({where}){shown}")
        except (ValueError, RecursionError, MemoryError) as error:  # NUL bytes, absurd nesting
            return Check("compiles", False, f"{name}: {type(error).__name__}: {error}")
    return Check("compiles", True, f"{len(names)} file{'s' if len(names) != 1 else ''} compile")


def _missing_package(stderr: str, files: Mapping[str, str | bytes]) -> str | None:
    """A well-known package the code imports that is not installed here (the machine's gap,
    not the code's). Any other missing module (a file the answer forgot, a made-up name)
    stays the code's failure, with the traceback as evidence."""
    match = _MISSING_MODULE.search(stderr)
    if not match:
        return None
    top = match.group(1).split(".")[0]
    local = {PurePosixPath(name).with_suffix("").parts[0] for name in files}
    if top in local or top not in KNOWN_PACKAGES:
        return None
    return KNOWN_PACKAGES[top]


async def _runs(files: Mapping[str, str | bytes], entry: str, python: str, timeout: float) -> Check | Verdict:
    result = await run_in_sandbox([python, "-B", entry], files, timeout=min(timeout, SCRIPT_SECONDS))
    if isinstance(result, HarnessFailure):
        return infrastructure("python", result.reason)
    if package := _missing_package(result.stderr, files):
        return not_verified(
            "python", f"it imports {package}, which is not installed here (pip install {package})"
        )
    output = tail(result.stderr) or tail(result.stdout)
    if result.ok and TRACEBACK not in result.stderr:
        said = f"`python {entry}`: exit 0 after {result.duration:.1f} s, no traceback"
        return Check("runs", True, said, output=head(result.stdout))
    detail = f"`python {entry}`: {outcome(result)}"
    if "EOFError" in result.stderr:
        detail += "; it waited for input() and got end of input (EOF): a script must run without typed input"
    elif result.timed_out:
        detail += "; a script must finish on its own (waiting for input or an endless loop?)"
    return Check("runs", False, f"{detail}\n{output}" if output else detail)


async def _stays_up(files: Mapping[str, str | bytes], entry: str, python: str) -> Check | Verdict:
    result = await run_in_sandbox([python, "-B", entry], files, timeout=SERVER_SECONDS, env=_SERVER_ENV)
    if isinstance(result, HarnessFailure):
        return infrastructure("python-server", result.reason)
    if package := _missing_package(result.stderr, files):
        return not_verified(
            "python-server", f"it needs {package}, which is not installed here (pip install {package})"
        )
    if any(marker in result.stderr for marker in _NO_DISPLAY):
        return not_verified("python-server", "a GUI program needs a display, and the sandbox has none")
    output = tail(result.stderr) or tail(result.stdout)
    if result.timed_out and TRACEBACK not in result.stderr:
        return Check(
            "starts", True, f"`python {entry}`: still running after {SERVER_SECONDS:g} s, no traceback"
        )
    if result.timed_out:
        detail = f"`python {entry}`: still running after {SERVER_SECONDS:g} s, but it printed a traceback"
    else:
        detail = f"`python {entry}`: {outcome(result)}; a server or GUI program must keep running"
    return Check("starts", False, f"{detail}\n{output}" if output else detail)


async def _pytest(
    files: Mapping[str, str | bytes], tests: list[str], python: str, timeout: float
) -> Check | Verdict:
    cmd = [python, "-B", "-m", "pytest", "-q", "-p", "no:cacheprovider", "--no-header", "-rfE"]
    asynchronous = any("async def test" in text_of(files, name) for name in tests)
    if asynchronous and importlib.util.find_spec("pytest_asyncio") is not None:
        cmd += ["-p", "pytest_asyncio.plugin", "-o", "asyncio_mode=auto"]
    # Plugins are not auto-loaded: the venv's plugins cost ~4 s per run here and the tests
    # of a generated answer do not expect them.
    env = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    result = await run_in_sandbox([*cmd, *tests], files, timeout=min(timeout, PYTEST_SECONDS), env=env)
    if isinstance(result, HarnessFailure):
        return infrastructure("pytest", result.reason)
    if "No module named pytest" in result.stderr:
        return not_verified("pytest", "pytest is not importable in the sandbox (pip install pytest)")
    summary = tail(result.stdout, lines=1, limit=200) or outcome(result)
    if result.ok:
        return Check("pytest", True, f"pytest {' '.join(tests)}: {summary}")
    if result.returncode == 5:
        return Check("pytest", False, f"pytest {' '.join(tests)}: no tests collected")
    output = tail(result.stdout, lines=20, limit=1500)
    return Check("pytest", False, f"pytest {' '.join(tests)}: {outcome(result)}\n{output}")

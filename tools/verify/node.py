"""The JavaScript and TypeScript judges: esbuild (in the sandbox, tools.esbuild) parses or
transpiles the entry and bundles what it requires, then Node runs the bundle in the sandbox
to the end (exit 0); a server (`listen(`, express, http.createServer) must start and stay up.

A script written for a browser (it uses `document` or `window`) with no page to load it is
parsed but not run: not verified, said why. A package that is not installed (esbuild cannot
resolve a bare name) is not verified either; a missing local file is the code's fault.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from pathlib import PurePosixPath

from tools import esbuild
from tools.extract import find_references
from tools.verify.records import Check, Verdict, infrastructure, make_verdict, not_verified
from tools.verify.sandboxed import HarnessFailure, head, outcome, run_in_sandbox, tail, text_of

SERVER_SECONDS = 3.0
SCRIPT_SECONDS = 20.0
JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx")
TS_SUFFIXES = (".ts", ".tsx", ".mts", ".cts")
NODE_BUILTINS = frozenset({
    "assert", "async_hooks", "buffer", "child_process", "cluster", "console", "constants", "crypto",
    "dgram", "dns", "events", "fs", "http", "http2", "https", "inspector", "module", "net", "os",
    "path", "perf_hooks", "process", "punycode", "querystring", "readline", "repl", "stream",
    "string_decoder", "test", "timers", "tls", "tty", "url", "util", "v8", "vm", "worker_threads", "zlib",
})  # fmt: skip
_ENTRY_STEMS = ("index", "main", "app", "server", "cli")
_BUNDLE = ".codecrew-bundle.js"
_BROWSER = re.compile(r"\b(?:document\.|window\.|localStorage\b|requestAnimationFrame\s*\()")
_SERVER = re.compile(
    r"\.listen\s*\(|\bcreateServer\s*\(|require\(\s*['\"]express['\"]\s*\)|from\s+['\"]express['\"]"
)
_ERROR = re.compile(r"\b\w*Error\b|\bUncaught\b")
_UNRESOLVED = re.compile(r'Could not resolve "([^"]+)"')


def entry_module(names: list[str], suffixes: tuple[str, ...]) -> str | None:
    candidates = [n for n in names if n.lower().endswith(suffixes) and not re.search(r"\.(test|spec)\.", n)]
    for stem in _ENTRY_STEMS:
        for name in candidates:
            if PurePosixPath(name).stem == stem:
                return name
    return sorted(candidates, key=lambda n: (n.count("/"), n))[0] if candidates else None


def needs_packages(files: Mapping[str, str | bytes]) -> bool:
    """Whether any written script imports a package (a bare name that is not a Node built-in):
    only then are the installed packages copied into esbuild's sandbox."""
    for name in files:
        if not name.lower().endswith((*JS_SUFFIXES, *TS_SUFFIXES)):
            continue
        for ref in find_references(text_of(files, name), "typescript"):
            top = ref.removeprefix("node:").split("/")[0]
            if not ref.startswith((".", "/", "node:")) and top not in NODE_BUILTINS:
                return True
    return False


def is_server(files: Mapping[str, str | bytes]) -> bool:
    """A Node server among the written scripts (it listens, or uses express)."""
    scripts = [name for name in files if name.lower().endswith((*JS_SUFFIXES, *TS_SUFFIXES))]
    return any(_SERVER.search(text_of(files, name)) for name in scripts)


async def judge_node(
    files: Mapping[str, str | bytes], typescript: bool, timeout: float, *, page_asked: bool = False
) -> Verdict:
    """Parse with esbuild, then run under Node in the sandbox. A browser script with no page
    is not run: not verified, or failed when the request asked for a page (`page_asked`)."""
    judge = "typescript" if typescript else "javascript"
    parse = "transpiles" if typescript else "parses"
    names = sorted(files)
    suffixes = TS_SUFFIXES if typescript else JS_SUFFIXES
    servers = [name for name in names if _SERVER.search(text_of(files, name))]
    entry = entry_module(servers, suffixes) or entry_module(names, suffixes)
    if entry is None:
        return not_verified(judge, "no script to run")
    if shutil.which("node") is None:
        return infrastructure(judge, "node is not installed (apt-get install -y nodejs)")
    if problem := esbuild.esbuild_problem():
        return infrastructure(judge, problem)
    source = text_of(files, entry)
    browser = bool(_BROWSER.search(source))
    packages = not browser and needs_packages(files)
    built = esbuild.bundle(files, entry, packages=packages, sourcemap=True, timeout=min(timeout, 30.0))
    if built.infrastructure:
        return infrastructure(judge, built.error)
    if not built.ok:
        missing = [m for m in _UNRESOLVED.findall(built.error) if not m.startswith((".", "/"))]
        if missing:
            package = missing[0]
            check = Check(parse, False, f"esbuild: {built.error}")
            return not_verified(
                judge, f"it requires {package}, which is not installed here (npm install {package})", [check]
            )
        return make_verdict(judge, [Check(parse, False, f"esbuild rejects {entry}: {built.error}")])
    checks = [Check(parse, True, f"esbuild bundled {entry} ({len(built.code)} bytes)")]
    if browser and page_asked:
        detail = f"no HTML page was written for the browser script {entry}: write an index.html with it"
        return make_verdict(judge, [*checks, Check("has_page", False, detail)])
    if browser:
        reason = f"{entry} is a browser script (it uses document/window) with no HTML page: parsed, not run"
        return not_verified(judge, reason, checks)
    server = bool(_SERVER.search(source))
    if server:
        judge = f"{judge}-server"
    run_files = {**files, _BUNDLE: built.code}
    result = await run_in_sandbox(
        ["node", "--enable-source-maps", _BUNDLE],
        run_files,
        timeout=SERVER_SECONDS if server else min(timeout, SCRIPT_SECONDS),
    )
    if isinstance(result, HarnessFailure):
        return infrastructure(judge, result.reason, checks)
    output = tail(result.stderr) or tail(result.stdout)
    if server:
        if result.timed_out and not _ERROR.search(result.stderr):
            checks.append(Check("starts", True, f"`node {entry}`: still running after {SERVER_SECONDS:g} s"))
        else:
            detail = f"`node {entry}`: {outcome(result)}; a server must keep running without errors"
            checks.append(Check("starts", False, f"{detail}\n{output}" if output else detail))
        return make_verdict(judge, checks)
    if result.ok:
        said = f"`node {entry}`: exit 0 after {result.duration:.1f} s"
        checks.append(Check("runs", True, said, output=head(result.stdout)))
    else:
        detail = f"`node {entry}`: {outcome(result)}"
        if result.timed_out:
            detail += "; a script must finish on its own (waiting for input or an endless loop?)"
        checks.append(
            Check("runs", False, f"{detail}\n{_in_source_terms(output, entry)}" if output else detail)
        )
    return make_verdict(judge, checks)


def _in_source_terms(output: str, entry: str) -> str:
    """Node names the bundle in stack traces; say which source file it came from."""
    return output.replace(_BUNDLE, f"{entry} (bundled)")

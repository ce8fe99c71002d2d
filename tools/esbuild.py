"""esbuild, run inside tools.sandbox on a copy of only the files it may read.

esbuild follows every `require`/`import` it sees, absolute paths included: run on the host,
`require('/any/host/path/secret.json')` in generated code would pull that file into the
bundle (and so into the code that runs and into the report's detail text). Here esbuild
runs in `run_sandboxed` (bwrap: private /tmp, home and repository hidden, unprivileged
uid), in a run dir holding the generated files, the packages the caller asks for (copied
from `node_dir()/node_modules`) and the esbuild binary. A path outside the run dir then
does not resolve; and the metafile is checked as a second guard: a bundle that read any
input outside the run dir is refused, its contents never returned.

The binary is started by a few lines of Node (`node -` in the sandbox) because the sandbox
caps memory by RLIMIT_AS for anything but Node, and Go programs such as esbuild reserve
more address space at start-up than that allows; under Node the cap is RLIMIT_DATA, which
esbuild inherits.

Where the packages live: `node_dir()` (agents.config: CODECREW_NODE_DIR, else the
project's .codecrew/node, else the cache); `NODE_SETUP` is the command that installs them.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from agents.config import node_dir
from tools.sandbox import SandboxLimits, run_sandboxed

NODE_SETUP = (
    "mkdir -p .codecrew/node && cp evals/fixtures/node/package.json "
    "evals/fixtures/node/package-lock.json .codecrew/node/ && "
    "npm ci --prefix .codecrew/node --no-audit --no-fund"
)
BENCH_PACKAGES = ("express", "jsonwebtoken", "light-my-request")
LOADERS = {".ts": "ts", ".tsx": "tsx", ".jsx": "jsx", ".mjs": "js", ".cjs": "js", ".js": "js"}

_BINARY_NAME = ".codecrew-esbuild"
_OUTPUT_NAME = ".codecrew-out.js"
_META_NAME = ".codecrew-meta.json"
_MAX_OUTPUT = 32_000_000  # a bundle with express is ~1-2 MB; JSON-escaped on stdout
_SKIPPED_PACKAGES = {".bin", "esbuild", "@esbuild"}  # esbuild itself comes in as one binary

# Node starts esbuild (see the module docstring), then prints {"code": ..., "meta": ...}.
_LAUNCHER = (
    r"""
const fs = require("fs"), cp = require("child_process");
fs.chmodSync("BINARY", 0o755);
const args = process.argv.slice(2);
const done = cp.spawnSync("./BINARY", args, { stdio: ["ignore", "inherit", "inherit"] });
if (done.error) { console.error(String(done.error)); process.exit(70); }
if (done.status !== 0) process.exit(done.status === null ? 1 : done.status);
const read = (name) => (fs.existsSync(name) ? fs.readFileSync(name, "utf8") : null);
process.stdout.write(JSON.stringify({ code: read("OUTPUT"), meta: read("META") }));
""".replace("BINARY", _BINARY_NAME)
    .replace("OUTPUT", _OUTPUT_NAME)
    .replace("META", _META_NAME)
)


@dataclass(frozen=True)
class EsbuildResult:
    """What one esbuild run produced: `code` when `ok`, else `error` (esbuild's own errors,
    or why it could not run; `infrastructure` then says the harness, not the code, failed)."""

    ok: bool
    code: str
    error: str
    infrastructure: bool = False


def esbuild_binary() -> Path | None:
    modules = node_dir() / "node_modules"
    for candidate in (
        modules / "@esbuild" / "linux-x64" / "bin" / "esbuild",
        modules / "@esbuild" / "linux-arm64" / "bin" / "esbuild",
        modules / "esbuild" / "bin" / "esbuild",
    ):
        if candidate.is_file():
            return candidate
    return None


def esbuild_problem() -> str | None:
    """Why esbuild cannot run here (None: it can)."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install -y nodejs)"
    if esbuild_binary() is None:
        return f"esbuild missing under {node_dir()}: run `{NODE_SETUP}`"
    return None


def node_problem() -> str | None:
    """Why the bench's Node checks cannot run here (None: they can)."""
    if shutil.which("node") is None:
        return "node is not installed (apt-get install -y nodejs)"
    modules = node_dir() / "node_modules"
    missing = [name for name in BENCH_PACKAGES if not (modules / name).is_dir()]
    if esbuild_binary() is None:
        missing.insert(0, "esbuild")
    if missing:
        return f"{', '.join(missing)} missing under {node_dir()}: run `{NODE_SETUP}`"
    return None


def run_esbuild(
    files: Mapping[str, str | bytes],
    args: Sequence[str],
    *,
    packages: bool = False,
    timeout: float = 30.0,
) -> EsbuildResult:
    """Run esbuild with `args` in the sandbox on `files` (relative names), plus the installed
    packages under `node_modules/` when `packages` is true. Pass no --outfile/--metafile:
    the output is returned as `code`. Never raises for anything the code does."""
    if problem := esbuild_problem():
        return EsbuildResult(False, "", problem, infrastructure=True)
    binary = esbuild_binary()
    assert binary is not None
    sandbox_files: dict[str, str | bytes] = {}
    if packages:
        sandbox_files.update(_package_files(str(node_dir() / "node_modules")))
    sandbox_files.update(files)
    sandbox_files[_BINARY_NAME] = _binary_bytes(str(binary))
    argv = [*args, f"--outfile={_OUTPUT_NAME}", f"--metafile={_META_NAME}"]
    argv += ["--log-level=error", "--color=false"]
    limits = SandboxLimits(
        timeout=timeout, cpu_seconds=int(timeout) + 1, memory_mb=1024, max_output_bytes=_MAX_OUTPUT
    )
    try:
        result = run_sandboxed(["node", "-", *argv], sandbox_files, stdin=_LAUNCHER, limits=limits)
    except (OSError, RuntimeError) as error:
        return EsbuildResult(False, "", f"the sandbox could not start esbuild: {error}", infrastructure=True)
    if result.timed_out:
        return EsbuildResult(False, "", f"esbuild timed out after {timeout:g}s")
    if result.returncode == 70 or result.returncode == 127:
        why = _tail(result.stderr) or f"exit {result.returncode}"
        return EsbuildResult(False, "", f"esbuild could not start: {why}", infrastructure=True)
    if result.returncode != 0 or result.truncated:
        why = result.killed_reason or _tail(result.stderr) or f"exit {result.returncode}"
        return EsbuildResult(False, "", why)
    try:
        produced = json.loads(result.stdout)
        meta = json.loads(produced["meta"] or "{}")
    except (json.JSONDecodeError, KeyError, TypeError):
        return EsbuildResult(False, "", f"esbuild's output could not be read: {_tail(result.stdout)}")
    if outside := _outside_inputs(meta):
        return EsbuildResult(
            False, "", f"the code reads files outside the generated ones: {', '.join(outside)}"
        )
    return EsbuildResult(True, produced.get("code") or "", "")


def transpile(code: str, name: str, *, timeout: float = 20.0) -> EsbuildResult:
    """JS/TS/TSX/JSX (CommonJS or ES modules) -> one CommonJS file for Node; parse errors fail."""
    loader = LOADERS.get(PurePosixPath(name).suffix.lower(), "js")
    source = f"input.{loader}"
    args = [source, "--format=cjs", "--platform=node", "--target=node18", "--keep-names", "--jsx=automatic"]
    return run_esbuild({source: code}, args, timeout=timeout)


def bundle(
    files: Mapping[str, str | bytes],
    entry: str,
    *,
    packages: bool = True,
    sourcemap: bool = False,
    timeout: float = 30.0,
) -> EsbuildResult:
    """One CommonJS file holding `entry` and everything it requires among `files` (and the
    installed packages when `packages`); with `sourcemap`, an inline source map, so
    `node --enable-source-maps` names the source files and lines in stack traces."""
    args = [entry, "--bundle", "--platform=node", "--format=cjs", "--target=node18", "--keep-names"]
    if sourcemap:
        args.append("--sourcemap=inline")
    return run_esbuild(files, args, packages=packages, timeout=timeout)


def _outside_inputs(meta: dict[str, object]) -> list[str]:
    """Inputs of the metafile that are not inside the run dir (esbuild names them relative
    to its working directory; Node's built-ins are not inputs)."""
    inputs = meta.get("inputs")
    names = list(inputs) if isinstance(inputs, dict) else []
    outside = []
    for name in names:
        path = PurePosixPath(name.split(":", 1)[1] if name.startswith("file:") else name)
        if path.is_absolute() or ".." in path.parts:
            outside.append(name[:200])
    return outside[:5]


def _tail(text: str, lines: int = 6, limit: int = 600) -> str:
    kept = [line for line in text.strip().splitlines() if line.strip()][-lines:]
    return " | ".join(kept)[-limit:]


@functools.lru_cache(maxsize=2)
def _binary_bytes(path: str) -> bytes:
    return Path(path).read_bytes()


@functools.lru_cache(maxsize=2)
def _package_files(modules: str) -> dict[str, bytes]:
    """Every regular file of the installed packages (not esbuild's own), by run-dir name."""
    root = Path(modules)
    found: dict[str, bytes] = {}
    if not root.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        here = Path(dirpath)
        if here == root:
            dirnames[:] = [d for d in dirnames if d not in _SKIPPED_PACKAGES]
        for filename in filenames:
            path = here / filename
            if path.is_symlink() or not path.is_file():
                continue
            found[f"node_modules/{path.relative_to(root).as_posix()}"] = path.read_bytes()
    return found

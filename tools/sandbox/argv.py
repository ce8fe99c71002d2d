"""The command line of a run: prlimit around the command, then bwrap or unshare (with
setpriv) around that, and the minimal environment it gets."""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools.sandbox.records import DEFAULT_PATH, SOCKET_GUARD, SandboxLimits, find_tool

_REPO_ROOT = Path(__file__).resolve().parents[2]  # tools/sandbox/argv.py -> the repository
_NODE_NAMES = ("node", "nodejs")


def _is_node(cmd: Sequence[str]) -> bool:
    return os.path.basename(cmd[0]) in _NODE_NAMES


def _node_heap_mb(limits: SandboxLimits) -> int:
    return max(16, limits.memory_mb * 3 // 4)


def prlimit_argv(cmd: Sequence[str], limits: SandboxLimits, nproc: int) -> list[str]:
    mem = limits.memory_mb * 1024 * 1024
    memory = f"--data={mem}:{mem}" if _is_node(cmd) else f"--as={mem}:{mem}"
    cpu, fsize, nofile = limits.cpu_seconds, limits.max_file_bytes, limits.max_open_files
    return [
        find_tool("prlimit") or "prlimit",
        f"--cpu={cpu}:{cpu + 1}",
        memory,
        f"--nproc={nproc}:{nproc}",
        f"--fsize={fsize}:{fsize}",
        f"--nofile={nofile}:{nofile}",
        "--core=0:0",
        "--",
        *cmd,
    ]


def _hidden_dirs(work: Path) -> list[str]:
    """Host dirs that may hold secrets: the caller's home and this repository."""
    candidates = {_REPO_ROOT}
    with contextlib.suppress(KeyError, RuntimeError):
        candidates.add(Path.home())
    with contextlib.suppress(KeyError):
        candidates.add(Path(pwd.getpwuid(os.getuid()).pw_dir))
    hidden = []
    for path in sorted(candidates):
        real = path.resolve()
        if real == Path("/") or not real.is_dir() or work.is_relative_to(real):
            continue
        hidden.append(str(real))
    return hidden


def _reexposed_dirs(hidden: Sequence[str]) -> list[str]:
    """The running interpreter's install and venv, if they live in a hidden dir."""
    prefixes = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve()}
    return sorted(
        str(prefix)
        for prefix in prefixes
        if prefix.is_dir() and any(prefix.is_relative_to(h) for h in hidden)
    )


def _setpriv(uid: int) -> list[str]:
    """Become `uid` (no groups, no capabilities) and die with the parent; for root callers."""
    return [
        find_tool("setpriv") or "setpriv",
        f"--reuid={uid}",
        f"--regid={uid}",
        "--clear-groups",
        "--inh-caps=-all",
        "--bounding-set=-all",
        "--pdeathsig=KILL",  # setuid clears the parent-death signal bwrap/unshare set up
    ]


def _mount_parents(below: str, path: str) -> list[str]:
    """The dirs between a hidden dir and a dir re-exposed inside it, outermost first."""
    parents = Path(path).relative_to(below).parents
    return [str(Path(below) / p) for p in reversed(parents) if p != Path(".")]


def bwrap_argv(work: Path, inner: list[str], limits: SandboxLimits, uid: int | None) -> list[str]:
    """bwrap: as root, privileged (no user namespace), then setpriv drops to `uid` inside;
    otherwise unprivileged in a new user namespace, as the caller."""
    argv = [find_tool("bwrap") or "bwrap", "--die-with-parent", "--new-session"]
    if uid is None:
        argv += ["--unshare-all"]
    else:
        # No user namespace: `uid` must be a real uid outside for RLIMIT_NPROC to count it.
        # The capabilities are only bwrap's and setpriv's (chdir into the uid's 0700 dir,
        # switching uid); setpriv leaves the command none, and bwrap sets no_new_privs.
        argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
        argv += ["--unshare-cgroup-try"]
        argv += ["--cap-add", "CAP_SETUID,CAP_SETGID,CAP_SETPCAP,CAP_DAC_OVERRIDE"]
        inner = [*_setpriv(uid), *inner]
    argv += ["--hostname", "sandbox", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for tmp in ("/tmp", "/dev/shm"):  # private and writable (multiprocessing needs /dev/shm)
        argv += ["--size", str(limits.memory_mb * 1024 * 1024), "--perms", "1777", "--tmpfs", tmp]
    hidden = _hidden_dirs(work)
    for path in hidden:
        argv += ["--size", str(1024 * 1024), "--perms", "0755", "--tmpfs", path]
    for path in _reexposed_dirs(hidden):
        below = max((h for h in hidden if Path(path).is_relative_to(h)), key=len)
        for parent in _mount_parents(below, path):
            argv += ["--perms", "0755", "--dir", parent]
        argv += ["--ro-bind", path, path]
    if work.is_relative_to("/tmp"):  # its parents would be created 0700 in the new /tmp
        for parent in _mount_parents("/tmp", str(work)):
            argv += ["--perms", "0755", "--dir", parent]
    argv += ["--bind", str(work), str(work), "--chdir", str(work), "--", *inner]
    return argv


def unshare_argv(work: Path, inner: list[str], limits: SandboxLimits, uid: int) -> list[str]:
    """unshare (as root) runs a tiny sh script that mounts, then setpriv drops to `uid`."""
    q = shlex.quote
    hidden = _hidden_dirs(work)
    reexposed = _reexposed_dirs(hidden)[:4]
    lines = ["set -e", "umask 022"]
    # Open the dirs to re-expose before they are hidden; bind them back from /proc/self/fd.
    lines += [f"exec {3 + i}<{q(path)}" for i, path in enumerate(reexposed)]
    for tmp in ("/tmp", "/var/tmp", "/run/lock", "/dev/shm"):
        size = limits.memory_mb * 1024 * 1024
        opts = f"mode=1777,nosuid,nodev,size={size}"
        lines.append(f"if [ -d {tmp} ]; then mount -t tmpfs -o {opts} tmpfs {tmp}; fi")
    for path in hidden:
        lines.append(f"mount -t tmpfs -o mode=755,nosuid,nodev,size=1m tmpfs {q(path)}")
    for i, path in enumerate(reexposed):
        lines.append(f"mkdir -p {q(path)}")
        lines.append(f"mount --no-canonicalize --bind /proc/self/fd/{3 + i} {q(path)}")
        lines.append(f"mount -o remount,bind,ro {q(path)}")
    # The work dir (under the now hidden /tmp) is our cwd: bind it back at its own path.
    lines.append(f"mkdir -p {q(str(work))}")
    lines.append(f"mount --no-canonicalize --bind /proc/self/cwd {q(str(work))}")
    lines.append(f"cd {q(str(work))}")
    closes = " ".join(f"{3 + i}<&-" for i in range(len(reexposed)))
    lines.append(f'exec {closes} "$@"')
    unshare = [find_tool("unshare") or "unshare", "--net", "--mount", "--pid", "--ipc", "--uts"]
    unshare += ["--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--"]
    return [*unshare, "/bin/sh", "-c", "\n".join(lines), "sh", *_setpriv(uid), *inner]


def sandbox_environment(
    cmd: Sequence[str], root: Path, isolation: str, limits: SandboxLimits, extra: Mapping[str, str] | None
) -> dict[str, str]:
    work = str(root / "work")
    env = {
        "PATH": DEFAULT_PATH,
        "HOME": work,
        "LANG": "C.UTF-8",
        "USER": "sandbox",
        "LOGNAME": "sandbox",
        "TMPDIR": work if isolation == SOCKET_GUARD else "/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra or {})
    if _is_node(cmd):
        heap = f"--max-old-space-size={_node_heap_mb(limits)}"
        env["NODE_OPTIONS"] = f"{env.get('NODE_OPTIONS', '')} {heap}".strip()
    if isolation == SOCKET_GUARD:
        paths = [str(root / "guard"), env.get("PYTHONPATH", "")]
        env["PYTHONPATH"] = ":".join(p for p in paths if p)
    return env

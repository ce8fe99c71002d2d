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


# Host dirs replaced by an empty private tmpfs in the namespaced tiers: the world-writable ones
# (so nothing written there reaches the host) and the ones that hold Unix sockets (Docker,
# databases, D-Bus live in /run; anyone may leave one in /tmp or /var/tmp): a socket that is
# not in the sandbox's file system cannot be connected to.
TMPFS_DIRS = ("/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm", "/home")
_SMALL_TMPFS = 1024 * 1024  # bytes: the hidden dirs hold nothing but mount points


def _tmpfs_dirs() -> list[str]:
    """TMPFS_DIRS that are real dirs here (/var/run is usually a symlink to /run)."""
    return [d for d in TMPFS_DIRS if os.path.isdir(d) and not os.path.islink(d)]


def _under(path: str | Path, dirs: Sequence[str]) -> bool:
    return any(Path(path).is_relative_to(d) for d in dirs)


def _hidden_dirs(work: Path) -> list[str]:
    """Host dirs that may hold secrets: the caller's home and this repository (unless a
    tmpfs dir already covers them, e.g. a checkout under /tmp)."""
    candidates = {_REPO_ROOT}
    with contextlib.suppress(KeyError, RuntimeError):
        candidates.add(Path.home())
    with contextlib.suppress(KeyError):
        candidates.add(Path(pwd.getpwuid(os.getuid()).pw_dir))
    covered = _tmpfs_dirs()
    hidden = []
    for path in sorted(candidates):
        real = path.resolve()
        if real == Path("/") or not real.is_dir() or work.is_relative_to(real) or _under(real, covered):
            continue
        hidden.append(str(real))
    return hidden


def _interpreter_paths(cmd0: str) -> set[str]:
    """Where the interpreters a run may use live: ours (its venv and its base install) and,
    for an absolute command, that command's install, each as named and as resolved."""
    names = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    names.add(str(Path(sys.executable).parent.parent))
    if os.path.isabs(cmd0):
        names.add(str(Path(cmd0).parent.parent))
        names.add(str(Path(os.path.realpath(cmd0)).parent.parent))
    paths = set()
    for name in names:
        paths.add(os.path.abspath(name))
        paths.add(os.path.realpath(name))
    return paths


def _reexposed_dirs(cmd0: str, covered: Sequence[str]) -> list[tuple[str, str]]:
    """(path inside, real path on the host) of each interpreter dir a tmpfs would hide; a
    venv that is a symlink (or lies under one) is bound at the path the interpreter uses."""
    found: dict[str, str] = {}
    for path in sorted(_interpreter_paths(cmd0), key=len):
        real = os.path.realpath(path)
        if not os.path.isdir(real) or path in covered or not _under(path, covered):
            continue
        if any(  # a bind already made shows it at this path
            Path(path).is_relative_to(outer) and Path(real) == Path(src) / Path(path).relative_to(outer)
            for outer, src in found.items()
        ):
            continue
        found[path] = real
    return list(found.items())


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


# Where bwrap shows the host's run dir, read-only, for the copy into the capped work dir.
INPUT_DIR = "/run/codecrew-input"


def started_marker(token: str, inner: list[str], *, copy_in: bool = False) -> list[str]:
    """Print `token` on stderr, then exec `inner`: once the token is there, the sandbox is
    set up and what follows is the command's own doing. `copy_in`: first copy the run's
    files from INPUT_DIR into the work dir (the cwd); a failed copy prints no token."""
    copy = f"cp -R {INPUT_DIR}/. . || exit 125; " if copy_in else ""
    return ["/bin/sh", "-c", copy + 'printf "%s\\n" "$0" >&2; exec "$@"', token, *inner]


def _mount_parents(below: str, path: str) -> list[str]:
    """The dirs between a hidden dir and a dir re-exposed inside it, outermost first."""
    parents = Path(path).relative_to(below).parents
    return [str(Path(below) / p) for p in reversed(parents) if p != Path(".")]


def _disk_bytes(limits: SandboxLimits) -> int:
    return limits.max_disk_mb * 1024 * 1024


def bwrap_argv(
    work: Path,
    inner: list[str],
    limits: SandboxLimits,
    uid: int | None,
    command: str = "",
    seccomp_fd: int | None = None,
) -> list[str]:
    """bwrap: as root, privileged (no user namespace), then setpriv drops to `uid` inside;
    otherwise unprivileged in a new user namespace, as the caller.

    The work dir is a fresh dir in the sandbox's own /tmp (one tmpfs of `max_disk_mb` for
    both); `inner` (started_marker with copy_in) copies the run's files into it from the
    host's run dir, shown read-only at INPUT_DIR. `seccomp_fd`: a filter for `--seccomp`
    (tools.sandbox.seccomp: no AF_UNIX sockets)."""
    argv = [find_tool("bwrap") or "bwrap", "--die-with-parent", "--new-session"]
    if seccomp_fd is not None:
        argv += ["--seccomp", str(seccomp_fd)]
    if uid is None:
        argv += ["--unshare-all"]
    else:
        # No user namespace: `uid` must be a real uid outside for RLIMIT_NPROC to count it.
        # The capabilities are only bwrap's and setpriv's (switching uid); setpriv leaves
        # the command none, and bwrap sets no_new_privs.
        argv += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
        argv += ["--unshare-cgroup-try"]
        argv += ["--cap-add", "CAP_SETUID,CAP_SETGID,CAP_SETPCAP,CAP_DAC_OVERRIDE"]
        inner = [*_setpriv(uid), *inner]
    argv += ["--hostname", "sandbox", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    disk = _disk_bytes(limits)
    covered = _tmpfs_dirs()
    for tmp in covered:
        if tmp == "/tmp":  # private and writable; holds the work dir, so one cap for both
            argv += ["--size", str(disk), "--perms", "1777", "--tmpfs", tmp]
        elif tmp == "/dev/shm":  # multiprocessing needs it writable
            argv += ["--size", str(max(disk // 4, _SMALL_TMPFS)), "--perms", "1777", "--tmpfs", tmp]
        else:
            argv += ["--size", str(_SMALL_TMPFS), "--perms", "0755", "--tmpfs", tmp]
    hidden = _hidden_dirs(work)
    for path in hidden:
        argv += ["--size", str(_SMALL_TMPFS), "--perms", "0755", "--tmpfs", path]
    for path, real in _reexposed_dirs(command, [*covered, *hidden]):
        below = max((h for h in [*covered, *hidden] if Path(path).is_relative_to(h)), key=len)
        for parent in _mount_parents(below, path):
            argv += ["--perms", "0755", "--dir", parent]
        argv += ["--ro-bind", real, path]
    if work.is_relative_to("/tmp"):
        for parent in _mount_parents("/tmp", str(work)):
            argv += ["--perms", "0755", "--dir", parent]
        argv += ["--perms", "0777", "--dir", str(work)]
    else:  # an unusual TMPDIR: a tmpfs of its own, with the same cap
        argv += ["--size", str(disk), "--perms", "0777", "--tmpfs", str(work)]
    argv += ["--ro-bind", str(work), INPUT_DIR]
    argv += ["--chdir", str(work), "--", *inner]
    return argv


def unshare_argv(
    work: Path,
    inner: list[str],
    limits: SandboxLimits,
    uid: int,
    command: str = "",
    loader: Sequence[str] = (),
) -> list[str]:
    """unshare (as root) runs a tiny sh script that mounts, then setpriv drops to `uid`;
    `loader` (tools.sandbox.seccomp.loader_argv) goes between setpriv and the command."""
    q = shlex.quote
    covered = _tmpfs_dirs()
    hidden = _hidden_dirs(work)
    # sh opens fds 3..9 only; fd 3 is the work dir as prepared on the host.
    reexposed = _reexposed_dirs(command, [*covered, *hidden])[:6]
    disk = _disk_bytes(limits)
    lines = ["set -e", "umask 022", "exec 3<."]
    # Open the dirs to re-expose before they are hidden; bind them back from /proc/self/fd.
    lines += [f"exec {4 + i}<{q(real)}" for i, (_, real) in enumerate(reexposed)]
    for tmp in covered:
        size, mode = {"/tmp": (disk, "1777"), "/dev/shm": (max(disk // 4, _SMALL_TMPFS), "1777")}.get(
            tmp, (_SMALL_TMPFS, "755")
        )
        lines.append(f"mount -t tmpfs -o mode={mode},nosuid,nodev,size={size} tmpfs {q(tmp)}")
    for path in hidden:
        lines.append(f"mount -t tmpfs -o mode=755,nosuid,nodev,size={_SMALL_TMPFS} tmpfs {q(path)}")
    for i, (path, _) in enumerate(reexposed):
        lines.append(f"mkdir -p {q(path)}")
        lines.append(f"mount --no-canonicalize --bind /proc/self/fd/{4 + i} {q(path)}")
        lines.append(f"mount -o remount,bind,ro {q(path)}")
    # The work dir: a copy in the private /tmp (one cap for both), or a tmpfs of its own.
    lines.append(f"mkdir -p {q(str(work))}")
    if not work.is_relative_to("/tmp"):
        lines.append(f"mount -t tmpfs -o mode=700,nosuid,nodev,size={disk} tmpfs {q(str(work))}")
    lines.append(f"cp -a /proc/self/fd/3/. {q(str(work))}/")
    lines.append(f"chown {uid}:{uid} {q(str(work))} && chmod 700 {q(str(work))}")
    lines.append(f"cd {q(str(work))}")
    closes = " ".join(f"{3 + i}<&-" for i in range(len(reexposed) + 1))
    lines.append(f'exec {closes} "$@"')
    unshare = [find_tool("unshare") or "unshare", "--net", "--mount", "--pid", "--ipc", "--uts"]
    unshare += ["--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--"]
    return [*unshare, "/bin/sh", "-c", "\n".join(lines), "sh", *_setpriv(uid), *loader, *inner]


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

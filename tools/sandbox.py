"""Run untrusted, model-generated code (Python, SQL via a CLI, JavaScript under Node) safely.

Every call to `run_sandboxed` gets a fresh temp dir (the `files` are written there first and it
is the working directory and $HOME), a minimal environment (never `os.environ`: explicit PATH,
HOME, LANG, plus what the caller passes), resource limits, a wall-clock timeout that kills the
whole process tree, capped stdout/stderr, and no network. The temp dir is removed afterwards,
whatever happened.

Isolation mechanisms, best first; `isolation_available()` probes once and picks the first that
works (`available_isolations()` lists all of them, `run_sandboxed(..., isolation=...)` forces one):

- "bwrap" (Debian package `bubblewrap`): new PID, network (loopback only), IPC and UTS
  namespaces; the root filesystem is a read-only bind; /tmp and /dev/shm are private tmpfs
  capped at `memory_mb`; the caller's home and this repository (where a `.env` may live) are
  hidden behind empty tmpfs; only the temp dir is writable. The running interpreter's prefix
  and venv are re-exposed read-only, so `sys.executable` works inside. As root, bwrap runs
  privileged (no user namespace) and `setpriv` drops to the run's uid inside; otherwise bwrap
  runs unprivileged in a new user namespace, as the caller (needs unprivileged user
  namespaces, on by default in Debian 12).
- "unshare-net" (root without bwrap; util-linux `unshare`, `setpriv`, `mount`): new network
  (not even loopback is up), mount, PID, IPC and UTS namespaces; private tmpfs over /tmp,
  /var/tmp, /run/lock and /dev/shm; home and repository hidden as above. The root filesystem
  stays writable for root, so writes elsewhere are stopped only by the file permissions of
  the unprivileged uid.
- "socket-guard" (neither is usable, e.g. not root and no user namespaces): no namespaces.
  A `sitecustomize.py` on PYTHONPATH makes Python's inet sockets and name lookups fail; best
  effort only: nothing stops Node or a native binary from using the network, writes to
  world-writable dirs such as /tmp succeed, and without root a child that calls setsid() can
  outlive the run.

Privileges: as root, every run gets its own random unprivileged uid/gid (range starting at
`SANDBOX_UID_BASE`, no supplementary groups, no capabilities, no_new_privs under bwrap). That
is what makes the process cap real: RLIMIT_NPROC is ignored for uid 0 (even without
capabilities), but counts the tasks of any other uid, and a uid used by one run only counts
exactly that run's processes and threads. It also keeps root-only files (/root is mode 700)
unreadable, and lets a timeout kill everything the run started (`kill -9 -1` as that uid).
Not as root, the caller's own uid is used: under bwrap the cap then applies inside the run's
user namespace; in the socket-guard tier it is the caller's current task count plus
`max_processes`.

Limits are applied by util-linux `prlimit` right before the command is executed: RLIMIT_CPU
(SIGXCPU, then SIGKILL one second later), RLIMIT_NPROC, RLIMIT_FSIZE, RLIMIT_NOFILE, no core
dumps, and memory. Memory is RLIMIT_AS (address space) for everything except Node: V8 reserves
far more address space than it uses (VmSize ~730 MB for `console.log(1)`; it aborts at startup
with RLIMIT_AS=512 MB), so for `node`/`nodejs` commands RLIMIT_DATA (private writable memory:
heap, array buffers) is capped instead and NODE_OPTIONS gets `--max-old-space-size` set to 3/4
of `memory_mb`, so V8 reports "JavaScript heap out of memory" before the kernel refuses pages.
Node is recognised by the first word of the command only (not `sh -c "node ..."`).
Limits are per process, not per tree: a run may use up to max_processes * memory_mb.

Measured per-run overhead (`python -m tools.sandbox`: `python3 -c pass`, 20 interleaved
rounds, includes writing and removing the temp dir), on this 2-core machine while it was busy
(load average 8-12), so absolute numbers are inflated; median / fastest run:
  unsandboxed    52-69 / 32-47 ms
  bwrap         +60 / +50-65 ms   (bwrap + setpriv + prlimit execs, namespace setup)
  unshare-net  +135-195 / +75-130 ms (a shell and ~8 `mount` execs per run)
  socket-guard  +64-82 / +52-57 ms (prlimit exec, sitecustomize imports socket)

Interpreters: the sandbox uid can run what any user can (`python3` is Debian's, `node`). Under
bwrap and unshare-net the running interpreter and its venv are re-exposed, so `sys.executable`
works too; under socket-guard as root it does not when it lives under /root (mode 700).

Thread-safe: no `preexec_fn` is used (privileges are dropped by subprocess's own `user=`/
`group=` or by `setpriv`), so runs may be started from several threads at once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pwd
import secrets
import selectors
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

BWRAP = "bwrap"
UNSHARE = "unshare-net"
SOCKET_GUARD = "socket-guard"
ISOLATIONS = (BWRAP, UNSHARE, SOCKET_GUARD)

DEFAULT_PATH = "/usr/local/bin:/usr/bin:/bin"
SANDBOX_UID_BASE = 1_600_000_000
_UID_SPAN = 100_000_000
_REPO_ROOT = Path(__file__).resolve().parents[1]
_DRAIN_GRACE = 1.0  # seconds to collect remaining output once the process is gone or killed
_MEMORY_MARKERS = (
    "MemoryError",
    "JavaScript heap out of memory",
    "Array buffer allocation failed",
    "Cannot allocate memory",
    "std::bad_alloc",
    "out of memory",
)
_NODE_NAMES = ("node", "nodejs")

_SOCKET_GUARD_PY = '''\
"""Installed by codecrew's sandbox: Python code in this run may not use the network."""
import errno
import socket

_INET = (socket.AF_INET, socket.AF_INET6)


def _guard(method):
    def guarded(self, *args, **kwargs):
        if self.family in _INET:
            raise OSError(errno.ENETUNREACH, "network access is disabled in the sandbox")
        return method(self, *args, **kwargs)

    return guarded


def _no_lookup(*args, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, "name lookup is disabled in the sandbox")


for _name in ("connect", "connect_ex", "sendto", "sendmsg"):
    setattr(socket.socket, _name, _guard(getattr(socket.socket, _name)))
for _name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
    setattr(socket, _name, _no_lookup)
'''


@dataclass(frozen=True)
class SandboxLimits:
    """Resource limits of one run. Memory, CPU and files are per process."""

    timeout: float = 10.0  # wall clock seconds
    cpu_seconds: int = 10
    memory_mb: int = 512  # RLIMIT_AS, or RLIMIT_DATA for node (see module docstring)
    max_processes: int = 32  # tasks (processes and threads) of the run's uid
    max_output_bytes: int = 64_000  # stdout and stderr each, truncated beyond
    max_file_bytes: int = 10_000_000
    max_open_files: int = 1024


@dataclass(frozen=True)
class SandboxResult:
    """What a sandboxed run did. A signal death is a negative returncode, as in subprocess."""

    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration: float
    isolation: str  # "bwrap" / "unshare-net" / "socket-guard"
    killed_reason: str | None  # "timeout", "memory", "cpu", "output-limit", "file-size", "signal N"
    truncated: bool = False  # stdout or stderr was cut at max_output_bytes

    @property
    def ok(self) -> bool:
        """True when the command exited 0 on its own, within every limit."""
        return self.returncode == 0 and not self.timed_out and self.killed_reason is None


# ---------------------------------------------------------------------------------------------
# Choosing the mechanism


def _which(name: str) -> str | None:
    return shutil.which(name, path=DEFAULT_PATH)


@functools.cache
def _probe(isolation: str) -> bool:
    """Whether `isolation` actually works here: its tools exist and a trivial run succeeds."""
    needs = {BWRAP: ["bwrap"], UNSHARE: ["unshare", "setpriv", "mount"], SOCKET_GUARD: []}
    if any(_which(tool) is None for tool in [*needs[isolation], "prlimit", "true"]):
        return False
    if isolation == UNSHARE and os.geteuid() != 0:
        return False
    try:
        result = run_sandboxed(["true"], limits=SandboxLimits(timeout=15), isolation=isolation)
    except Exception:  # a mechanism that cannot even start is simply not available
        return False
    return result.ok


@functools.cache
def available_isolations() -> tuple[str, ...]:
    """Every mechanism that works on this machine, best first (probed once)."""
    return tuple(isolation for isolation in ISOLATIONS if _probe(isolation))


@functools.cache
def isolation_available() -> str:
    """The mechanism `run_sandboxed` uses here, computed once."""
    for isolation in ISOLATIONS:
        if _probe(isolation):
            return isolation
    raise RuntimeError("no sandbox mechanism works here; is util-linux (prlimit) installed?")


# ---------------------------------------------------------------------------------------------
# The run directory and the sandbox uid

_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def _allocate_uid() -> int | None:
    """A fresh unprivileged uid for one run when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    with _uid_lock:
        while True:
            uid = SANDBOX_UID_BASE + secrets.randbelow(_UID_SPAN)
            if uid not in _uids_in_use:
                _uids_in_use.add(uid)
                return uid


def _release_uid(uid: int | None) -> None:
    with _uid_lock:
        _uids_in_use.discard(uid)  # type: ignore[arg-type]


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or path == PurePosixPath("."):
        raise ValueError(f"sandbox file names must be relative paths inside the run dir: {name!r}")
    return path


def _prepare_dir(files: Mapping[str, str | bytes] | None, uid: int | None) -> Path:
    """Make <root>/work with the files in it, owned by the sandbox uid; return <root>."""
    relative = {_safe_relative(name): content for name, content in (files or {}).items()}
    root = Path(tempfile.mkdtemp(prefix="codecrew-sbx-"))
    work = root / "work"
    work.mkdir(mode=0o700)
    for rel, content in relative.items():
        target = work / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content.encode() if isinstance(content, str) else content
        target.write_bytes(data)
    guard = root / "guard"
    guard.mkdir()
    (guard / "sitecustomize.py").write_text(_SOCKET_GUARD_PY)
    if uid is not None:
        os.chmod(root, 0o711)
        os.chmod(guard, 0o755)
        for dirpath, dirnames, filenames in os.walk(work):
            os.chown(dirpath, uid, uid)
            for name in dirnames + filenames:
                os.chown(os.path.join(dirpath, name), uid, uid, follow_symlinks=False)
    return root


def _remove_dir(root: Path) -> None:
    """Remove the run dir even if the sandboxed code made parts of it read-only."""

    def make_writable_and_retry(func: Callable[[str], object], path: str, _exc: object) -> None:
        try:
            os.chmod(os.path.dirname(path), 0o700)
            if os.path.isdir(path) and not os.path.islink(path):
                os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    shutil.rmtree(root, onerror=make_writable_and_retry)


# ---------------------------------------------------------------------------------------------
# Building the command line


def _is_node(cmd: Sequence[str]) -> bool:
    return os.path.basename(cmd[0]) in _NODE_NAMES


def _node_heap_mb(limits: SandboxLimits) -> int:
    return max(16, limits.memory_mb * 3 // 4)


def _count_tasks(uid: int, *, besides: int | None = None) -> int:
    """Tasks (processes and threads) this uid runs right now, as RLIMIT_NPROC counts them,
    not counting process `besides`."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or entry.name == str(besides):
            continue
        try:
            if entry.stat().st_uid == uid:
                count += len(os.listdir(f"/proc/{entry.name}/task"))
        except OSError:
            continue
    return count


def _prlimit(cmd: Sequence[str], limits: SandboxLimits, nproc: int) -> list[str]:
    mem = limits.memory_mb * 1024 * 1024
    memory = f"--data={mem}:{mem}" if _is_node(cmd) else f"--as={mem}:{mem}"
    cpu, fsize, nofile = limits.cpu_seconds, limits.max_file_bytes, limits.max_open_files
    return [
        _which("prlimit") or "prlimit",
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
        _which("setpriv") or "setpriv",
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


def _bwrap_argv(work: Path, inner: list[str], limits: SandboxLimits, uid: int | None) -> list[str]:
    """bwrap: as root, privileged (no user namespace), then setpriv drops to `uid` inside;
    otherwise unprivileged in a new user namespace, as the caller."""
    argv = [_which("bwrap") or "bwrap", "--die-with-parent", "--new-session"]
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


def _unshare_argv(work: Path, inner: list[str], limits: SandboxLimits, uid: int) -> list[str]:
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
    unshare = [_which("unshare") or "unshare", "--net", "--mount", "--pid", "--ipc", "--uts"]
    unshare += ["--fork", "--kill-child", "--mount-proc", "--propagation", "private", "--"]
    return [*unshare, "/bin/sh", "-c", "\n".join(lines), "sh", *_setpriv(uid), *inner]


def _environment(
    cmd: Sequence[str], root: Path, isolation: str, limits: SandboxLimits, extra: Mapping | None
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


# ---------------------------------------------------------------------------------------------
# Running and watching


def _has_exited(pid: int) -> bool:
    """Whether the child has exited, without reaping it (its pid, and so its pgid, stay ours)."""
    try:
        return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


class _Killer:
    """Kills a run's whole process tree: its process group and, if it has one, its uid."""

    def __init__(self, pid: int, uid: int | None) -> None:
        self.pid, self.uid = pid, uid

    def kill(self, *, whole_uid: bool) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        uid = self.uid
        if whole_uid and uid is not None and uid >= SANDBOX_UID_BASE and _count_tasks(uid, besides=self.pid):
            # kill(-1) sent *as the run's uid* reaches exactly that uid's processes. Once
            # none is left, none can appear: only they could start more as that uid.
            subprocess.Popen(
                ["/bin/sh", "-c", "kill -9 -1"],
                user=self.uid,
                group=self.uid,
                extra_groups=[],
                env={"PATH": DEFAULT_PATH},
                cwd="/",
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            ).wait()  # no timeout: run() would poll with sleeps; this takes a few ms


@dataclass
class _Pumped:
    stdout: bytes
    stderr: bytes
    timed_out: bool
    overflow: bool
    status: int  # wait status; -1 if unknown
    cpu_time: float


def _pump(
    proc: subprocess.Popen[bytes],
    stdin: bytes | None,
    limits: SandboxLimits,
    deadline: float,
    killer: _Killer,
    always_kill_uid: bool,
) -> _Pumped:
    """Feed stdin, read capped stdout/stderr, and enforce the deadline; then reap the child."""
    assert proc.stdout is not None and proc.stderr is not None
    sel = selectors.DefaultSelector()
    bufs: dict[int, bytearray] = {}
    for pipe in (proc.stdout, proc.stderr):
        os.set_blocking(pipe.fileno(), False)
        sel.register(pipe.fileno(), selectors.EVENT_READ)
        bufs[pipe.fileno()] = bytearray()
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    pending = memoryview(stdin or b"")
    stdin_fd = None
    if proc.stdin is not None:
        if pending:
            stdin_fd = proc.stdin.fileno()
            os.set_blocking(stdin_fd, False)
            sel.register(stdin_fd, selectors.EVENT_WRITE)
        else:
            proc.stdin.close()
    try:
        pidfd: int | None = os.pidfd_open(proc.pid)
        sel.register(pidfd, selectors.EVENT_READ)
    except (AttributeError, OSError):
        pidfd = None

    exited = timed_out = overflow = killed = False
    stop_at: float | None = None  # set once nothing more is expected; drain until then

    def kill_all() -> None:
        nonlocal killed, stop_at
        if not killed:
            killed = True
            killer.kill(whole_uid=True)
        stop_at = stop_at or time.monotonic() + _DRAIN_GRACE

    while True:
        open_pipes = [fd for fd in (out_fd, err_fd) if fd in sel.get_map()]
        now = time.monotonic()
        if exited and not open_pipes:
            break
        if stop_at is not None and now >= stop_at:
            break
        if not exited and now >= deadline:
            timed_out = True
            kill_all()
        wait = (stop_at if stop_at is not None else deadline) - now
        if pidfd is None:
            wait = min(wait, 0.02)
        for key, _ in sel.select(max(wait, 0)):
            fd = key.fd
            if fd == pidfd:
                sel.unregister(fd)
            elif fd == stdin_fd:
                try:
                    written = os.write(fd, pending[:65536])
                    pending = pending[written:]
                except BlockingIOError:
                    continue
                except OSError:  # the program closed its stdin or exited
                    pending = pending[:0]
                if not pending:
                    sel.unregister(fd)
                    proc.stdin.close()  # type: ignore[union-attr]
            else:
                try:
                    chunk = os.read(fd, 65536)
                except BlockingIOError:
                    continue
                if not chunk:
                    sel.unregister(fd)
                    continue
                buf = bufs[fd]
                room = limits.max_output_bytes - len(buf)
                buf += chunk[: max(room, 0)]
                if len(chunk) > room:
                    overflow = True
                    kill_all()
        if not exited and _has_exited(proc.pid):
            exited = True
            if not killed:  # leftovers (background children) are not waited for
                killer.kill(whole_uid=always_kill_uid)
                killed = True
            stop_at = stop_at or time.monotonic() + _DRAIN_GRACE

    if not exited:
        killer.kill(whole_uid=True)
    for fd in list(sel.get_map()):
        sel.unregister(fd)
    sel.close()
    if pidfd is not None:
        os.close(pidfd)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None and not pipe.closed:
            pipe.close()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:  # someone else reaped it (a waitpid(-1) SIGCHLD handler)
        status, cpu_time = -1, 0.0
    else:
        cpu_time = usage.ru_utime + usage.ru_stime
    proc.returncode = os.waitstatus_to_exitcode(status) if status >= 0 else -1
    return _Pumped(
        stdout=bytes(bufs[out_fd]),
        stderr=bytes(bufs[err_fd]),
        timed_out=timed_out,
        overflow=overflow,
        status=status,
        cpu_time=cpu_time,
    )


def _killed_reason(returncode: int | None, pumped: _Pumped, stderr: str, limits: SandboxLimits) -> str | None:
    if pumped.timed_out:
        return "timeout"
    if pumped.overflow:
        return "output-limit"
    if returncode is None or returncode == 0:
        return None
    if returncode < 0:
        sig = -returncode
        if sig == signal.SIGXCPU or (sig == signal.SIGKILL and pumped.cpu_time >= limits.cpu_seconds - 0.05):
            return "cpu"
        if sig == signal.SIGXFSZ:
            return "file-size"
    if any(marker in stderr for marker in _MEMORY_MARKERS):
        return "memory"
    if "File too large" in stderr:
        return "file-size"
    return f"signal {-returncode}" if returncode < 0 else None


def run_sandboxed(
    cmd: Sequence[str],
    files: Mapping[str, str | bytes] | None = None,
    *,
    stdin: str | None = None,
    limits: SandboxLimits = SandboxLimits(),  # noqa: B008 - frozen, safe as a default
    env: Mapping[str, str] | None = None,
    isolation: str | None = None,
) -> SandboxResult:
    """Run `cmd` in a fresh temp dir holding `files`, isolated and limited; never raises for
    anything the command does.

    `cmd[0]` is looked up on the sandbox PATH (`DEFAULT_PATH` unless `env` sets PATH). `env` is
    added to the minimal environment. `isolation` forces one of `available_isolations()`.
    Under bwrap a process killed by signal N makes bwrap exit 128+N; that is reported as -N
    (so a program that itself exits 129..159 is reported as killed by a signal).
    """
    if isinstance(cmd, str) or not cmd:
        raise ValueError("cmd must be a non-empty sequence of arguments")
    isolation = isolation or isolation_available()
    if isolation not in ISOLATIONS:
        raise ValueError(f"unknown isolation {isolation!r}; expected one of {ISOLATIONS}")
    uid = _allocate_uid()
    root = _prepare_dir(files, uid)
    try:
        return _run(list(cmd), root, uid, isolation, stdin, limits, env)
    finally:
        _remove_dir(root)
        _release_uid(uid)


def _run(
    cmd: list[str],
    root: Path,
    uid: int | None,
    isolation: str,
    stdin: str | None,
    limits: SandboxLimits,
    env: Mapping[str, str] | None,
) -> SandboxResult:
    work = root / "work"
    if uid is not None or isolation != SOCKET_GUARD:
        nproc = limits.max_processes
    else:
        nproc = _count_tasks(os.getuid()) + limits.max_processes
    inner = _prlimit(cmd, limits, nproc)
    drop: dict = {}  # root drops privileges inside bwrap/unshare, or here via subprocess
    if isolation == BWRAP:
        argv = _bwrap_argv(work, inner, limits, uid)
    elif isolation == UNSHARE:
        if uid is None:
            raise RuntimeError("the unshare-net sandbox needs root")
        argv = _unshare_argv(work, inner, limits, uid)
    else:
        argv = inner
        if uid is not None:
            drop = {"user": uid, "group": uid, "extra_groups": []}
    start = time.monotonic()
    proc = subprocess.Popen(
        argv,
        cwd=work,
        env=_environment(cmd, root, isolation, limits, env),
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        close_fds=True,
        **drop,
    )
    killer = _Killer(proc.pid, uid)
    stdin_bytes = stdin.encode() if stdin is not None else None
    pumped = _pump(
        proc,
        stdin_bytes,
        limits,
        start + limits.timeout,
        killer,
        always_kill_uid=isolation == SOCKET_GUARD,
    )
    duration = time.monotonic() - start
    returncode = os.waitstatus_to_exitcode(pumped.status) if pumped.status >= 0 else None
    if isolation == BWRAP and returncode is not None and 128 < returncode < 160:
        returncode = -(returncode - 128)
    stdout = pumped.stdout.decode("utf-8", errors="replace")
    stderr = pumped.stderr.decode("utf-8", errors="replace")
    return SandboxResult(
        returncode=None if pumped.timed_out else returncode,
        stdout=stdout,
        stderr=stderr,
        timed_out=pumped.timed_out,
        duration=duration,
        isolation=isolation,
        killed_reason=_killed_reason(returncode, pumped, stderr, limits),
        truncated=pumped.overflow,
    )


# ---------------------------------------------------------------------------------------------
# `python -m tools.sandbox`: which mechanism is in force here, and what each costs per run


def _timed(cmd: list[str], isolation: str | None) -> float:
    start = time.perf_counter()
    if isolation is None:
        subprocess.run(cmd, env={"PATH": DEFAULT_PATH}, check=True)
    else:
        run_sandboxed(cmd, isolation=isolation)
    return time.perf_counter() - start


def main() -> None:
    """Print the mechanism in force and the per-run overhead of each available one."""
    cmd, rounds = ["python3", "-c", "pass"], 20
    print(f"isolation in force: {isolation_available()}")
    ways: list[str | None] = [None, *available_isolations()]
    times: dict[str | None, list[float]] = {way: [] for way in ways}
    for _ in range(rounds):  # interleaved, so a busy machine slows every way alike
        for way in ways:
            times[way].append(_timed(cmd, way))
    med = {way: sorted(spent)[rounds // 2] * 1000 for way, spent in times.items()}
    low = {way: min(spent) * 1000 for way, spent in times.items()}
    print(f"`{shlex.join(cmd)}`, {rounds} rounds: median / fastest wall time per run")
    print(f"{'unsandboxed':>13}: {med[None]:6.1f} / {low[None]:6.1f} ms")
    for way in ways[1:]:
        extra = f"overhead +{med[way] - med[None]:.1f} / +{low[way] - low[None]:.1f} ms"
        print(f"{way:>13}: {med[way]:6.1f} / {low[way]:6.1f} ms, {extra}")


if __name__ == "__main__":
    main()

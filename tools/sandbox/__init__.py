"""Run untrusted, model-generated code (Python, SQL via a CLI, JavaScript under Node) safely.

Every call to `run_sandboxed` gets a fresh temp dir (the `files` are written there first and it
is the working directory and $HOME), a minimal environment (never `os.environ`: explicit PATH,
HOME, LANG, plus what the caller passes), resource limits, a wall-clock timeout that kills the
whole process tree, capped stdout/stderr, and no network. The temp dir is removed afterwards,
whatever happened.

Isolation mechanisms, best first; `isolation_available()` probes once and picks the first that
works (`available_isolations()` lists all of them, `run_sandboxed(..., isolation=...)` forces one):

- "bwrap" (Debian package `bubblewrap`): new PID, network (loopback only), IPC and UTS
  namespaces; the root filesystem is a read-only bind; /tmp, /var/tmp, /run, /dev/shm and
  /home are private tmpfs, so no host file written there and no Unix socket living there
  (Docker, databases, D-Bus, anything in /tmp) is reachable; the caller's home and this
  repository (where a `.env` may live) are hidden behind empty tmpfs too. The work dir is a
  fresh dir in the private /tmp, filled with a copy of the run's files (`cp` from the
  host's run dir, bound read-only at /run/codecrew-input), so the work dir and /tmp share
  one tmpfs capped at `max_disk_mb` (/dev/shm gets a quarter of that): total bytes written
  are capped, not only each file. The interpreters a run may use
  (ours: its venv, as named and as resolved, and its base install; an absolute `cmd[0]`: its
  install) are re-exposed read-only wherever they live, so `sys.executable` and a venv in
  /tmp work inside. As root, bwrap runs privileged (no user namespace) and `setpriv` drops
  to the run's uid inside; otherwise bwrap runs unprivileged in a new user namespace, as
  the caller (needs unprivileged user namespaces, on by default in Debian 12). A seccomp
  filter (`seccomp`) refuses new AF_UNIX sockets, so no socket elsewhere on the read-only
  root can be connected to either.
- "unshare-net" (root without bwrap; util-linux `unshare`, `setpriv`, `mount`): new network
  (not even loopback is up), mount, PID, IPC and UTS namespaces; the same private tmpfs
  dirs, hidden dirs (skipped when a tmpfs already covers them, e.g. a checkout under /tmp)
  and re-exposed interpreters; the same seccomp filter, which our interpreter loads with
  prctl before it execs the command (`seccomp.loader_argv`: one interpreter start more);
  the work dir is copied into the private /tmp (one cap). The
  root filesystem stays writable for root, so writes elsewhere are stopped only by the file
  permissions of the unprivileged uid.
- "socket-guard" (neither is usable, e.g. not root and no user namespaces): no namespaces.
  A `sitecustomize.py` on PYTHONPATH makes Python's inet sockets and name lookups fail; best
  effort only: nothing stops Node or a native binary from using the network or a Unix
  socket, writes to world-writable dirs such as /tmp succeed, only each file is capped, and
  without root a child that calls setsid() can outlive the run.

A fallback is never silent: `sandbox_status()` names the mechanism in force and, below bwrap,
why the better ones failed, as a warning line (`weak` for socket-guard) that the eval run
prints and writes into its report.

Harness failures are not the code's: every run prints a random marker on stderr just before
`prlimit` starts the command (stripped from the result). No marker means the sandbox itself
could not start; an exit status of 126/127 is checked against whether `cmd[0]` exists inside
the sandbox. Either way the result's `infrastructure` says what to fix, and `ok` is False.

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
rounds, includes writing and removing the temp dir), three runs on this 2-core machine while
a model benchmark ran beside it (load average 2.2); median / fastest run:
  unsandboxed    15 / 9-10 ms
  bwrap         +15-24 / +10-13 ms  (bwrap + setpriv + prlimit execs, namespace setup)
  unshare-net   +89-105 / +41-44 ms (a shell, ~8 `mount` execs and the seccomp loader)
                (the loader's part, 20 interleaved runs with and without it: +13 / +16 ms)
  socket-guard  +21-22 / +12-17 ms  (prlimit exec, sitecustomize imports socket)

Interpreters: the sandbox uid can run what any user can (`python3` is Debian's, `node`). Under
bwrap and unshare-net the running interpreter and its venv are re-exposed, so `sys.executable`
works too; under socket-guard as root it does not when it lives under /root (mode 700), and
such a run reports `infrastructure`.

Thread-safe: no `preexec_fn` is used (privileges are dropped by subprocess's own `user=`/
`group=` or by `setpriv`), so runs may be started from several threads at once.

The package, one job per module: `records` (isolation names, limits, results), `uids`
(the per-run uid and its task count), `rundir` (the run dir and the socket guard), `argv`
(prlimit, bwrap, unshare and the environment), `pump` (feeding, reading, timing out and
killing a run), `run` (`run_sandboxed`, and which mechanism works here: `sandbox_status`)
and `overhead` (`python -m tools.sandbox`).
"""

from __future__ import annotations

from tools.sandbox.overhead import main
from tools.sandbox.records import (
    BWRAP,
    DEFAULT_PATH,
    ISOLATIONS,
    SOCKET_GUARD,
    UNSHARE,
    SandboxLimits,
    SandboxResult,
)
from tools.sandbox.run import (
    SandboxStatus,
    available_isolations,
    describe_isolation,
    isolation_available,
    run_sandboxed,
    sandbox_status,
)
from tools.sandbox.uids import SANDBOX_UID_BASE

__all__ = [
    "BWRAP",
    "DEFAULT_PATH",
    "ISOLATIONS",
    "SANDBOX_UID_BASE",
    "SOCKET_GUARD",
    "UNSHARE",
    "SandboxLimits",
    "SandboxResult",
    "SandboxStatus",
    "available_isolations",
    "describe_isolation",
    "isolation_available",
    "main",
    "run_sandboxed",
    "sandbox_status",
]

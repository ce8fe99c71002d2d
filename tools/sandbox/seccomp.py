"""A seccomp filter: no new AF_UNIX sockets inside the sandbox. bwrap loads it (`--seccomp
FD`); the unshare-net tier has no bwrap, so `loader_argv` runs a few lines of our own
interpreter (always re-exposed there) that load it with prctl and exec the command.

The private tmpfs dirs hide the usual homes of host sockets (/tmp, /run, ...), but a socket
elsewhere on the read-only root (say /srv/app.sock) would still be reachable by path. With
this filter `socket(AF_UNIX, ...)` fails with EACCES, so no path socket can be connected
to at all; `socketpair` (asyncio's self-pipe, multiprocessing) still works, and abstract
sockets are per network namespace anyway. Syscalls of another ABI (i386, x32 on x86_64)
fail, so the check cannot be sidestepped through them.

Classic BPF over `struct seccomp_data` (nr at offset 0, arch at 4, args[0] low word at 16
on these little-endian machines), written out here because it is six instructions.
"""

from __future__ import annotations

import errno
import platform
import struct
import sys

# <linux/audit.h>, <asm/unistd.h>
_ARCHES = {  # machine: (AUDIT_ARCH_*, __NR_socket, lowest nr of a foreign ABI or None)
    "x86_64": (0xC000003E, 41, 0x40000000),  # x32 syscalls have bit 30 set
    "aarch64": (0xC00000B7, 198, None),
}
AF_UNIX = 1

_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_RET_K = 0x06  # BPF_RET | BPF_K
_ALLOW = 0x7FFF0000  # SECCOMP_RET_ALLOW
_DENY = 0x00050000 | errno.EACCES  # SECCOMP_RET_ERRNO


def _op(code: int, k: int, jt: int = 0, jf: int = 0) -> bytes:
    return struct.pack("=HBBI", code, jt, jf, k)


def unix_socket_filter(machine: str | None = None) -> bytes | None:
    """The compiled filter for this machine's architecture; None where it is not known."""
    arch = _ARCHES.get(machine or platform.machine())
    if arch is None:
        return None
    audit_arch, nr_socket, foreign = arch
    # A jump goes to (its own index + 1 + offset); the last two are ALLOW and DENY.
    program = [
        _op(_LD_W_ABS, 4),  # 0: arch
        _op(_JEQ_K, audit_arch, 0, 6 if foreign is not None else 5),  # 1: foreign arch -> DENY
        _op(_LD_W_ABS, 0),  # 2: nr
    ]
    if foreign is not None:
        program.append(_op(_JGE_K, foreign, 4, 0))  # another ABI of this arch -> DENY
    program += [
        _op(_JEQ_K, nr_socket, 0, 2),  # socket()? else ALLOW
        _op(_LD_W_ABS, 16),  # args[0]: the address family
        _op(_JEQ_K, AF_UNIX, 1, 0),  # AF_UNIX -> DENY, else ALLOW
        _op(_RET_K, _ALLOW),
        _op(_RET_K, _DENY),
    ]
    return b"".join(program)


# PR_SET_NO_NEW_PRIVS (38), then PR_SET_SECCOMP (22) with SECCOMP_MODE_FILTER (2) and a
# struct sock_fprog {unsigned short len; struct sock_filter *filter;}; a failure exits
# before the command starts, so the sandbox reports it as its own (no start marker).
_LOADER = """\
import ctypes, os, sys
program = bytes.fromhex(sys.argv[1])
class Fprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]
buffer = ctypes.create_string_buffer(program, len(program))
fprog = Fprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.byref(fprog), 0, 0):
    sys.exit("codecrew seccomp loader: " + os.strerror(ctypes.get_errno()))
os.execvp(sys.argv[2], sys.argv[2:])
"""


def loader_argv(program: bytes) -> list[str]:
    """A command prefix that loads `program` into the process, then execs the rest."""
    return [sys.executable, "-I", "-S", "-c", _LOADER, program.hex()]

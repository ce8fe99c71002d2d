"""The run dir: a fresh temp dir holding the run's files (its cwd and $HOME) and the socket
guard, owned by the run's uid, and removed afterwards whatever the code did to it."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath

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


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or path == PurePosixPath("."):
        raise ValueError(f"sandbox file names must be relative paths inside the run dir: {name!r}")
    return path


def prepare_dir(files: Mapping[str, str | bytes] | None, uid: int | None) -> Path:
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


def remove_dir(root: Path) -> None:
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

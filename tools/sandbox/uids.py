"""The unprivileged uid each run gets when we are root, and counting a uid's tasks."""

from __future__ import annotations

import os
import secrets
import threading

SANDBOX_UID_BASE = 1_600_000_000
_UID_SPAN = 100_000_000

_uid_lock = threading.Lock()
_uids_in_use: set[int] = set()


def allocate_uid() -> int | None:
    """A fresh unprivileged uid for one run when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    with _uid_lock:
        while True:
            uid = SANDBOX_UID_BASE + secrets.randbelow(_UID_SPAN)
            if uid not in _uids_in_use:
                _uids_in_use.add(uid)
                return uid


def release_uid(uid: int | None) -> None:
    with _uid_lock:
        if uid is not None:
            _uids_in_use.discard(uid)


def count_tasks(uid: int, *, besides: int | None = None) -> int:
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

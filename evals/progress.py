"""A running eval's progress on disk: `progress.json` in its report folder.

The eval run writes it as cases finish (and every few seconds while none does), and removes
it once report.json is written. The dashboard reads it to show a run started from the
command line (or from another dashboard) as it goes, not only once it has a report. A file
left behind by a run that died says so: its process is gone (same machine) or it has not
been touched for STALE_SECONDS (another machine, sharing the reports folder).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

PROGRESS_FILE = "progress.json"
HEARTBEAT_SECONDS = 5.0
STALE_SECONDS = 600.0


@dataclass
class RunProgress:
    run_id: str
    started: str
    models: list[str]
    suites: list[str]
    total: int
    done: int = 0
    pid: int = field(default_factory=os.getpid)
    host: str = field(default_factory=socket.gethostname)
    updated: float = 0.0  # time.time() of the last write

    @property
    def started_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.started)
        except ValueError:
            return None

    def state(self, now: float | None = None) -> Literal["running", "interrupted"]:
        """ "running" while its process lives (or, on another machine, while it writes)."""
        if self.host == socket.gethostname():
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return "interrupted"
            except PermissionError:  # alive, someone else's
                pass
            return "running"
        return "running" if (now or time.time()) - self.updated < STALE_SECONDS else "interrupted"


class ProgressFile:
    """Writes a run's progress.json: at once, then when `done` changes or a heartbeat is due."""

    def __init__(self, run_dir: Path, progress: RunProgress) -> None:
        self.path = run_dir / PROGRESS_FILE
        self.progress = progress
        self.written = 0.0
        self.write()

    def update(self, done: int) -> None:
        if done != self.progress.done or time.time() - self.written >= HEARTBEAT_SECONDS:
            self.progress.done = done
            self.write()

    def write(self) -> None:
        self.progress.updated = self.written = time.time()
        partial = self.path.with_suffix(".json.partial")
        try:  # a reader never sees half a file; a full disk must not stop the run
            partial.write_text(json.dumps(asdict(self.progress)), encoding="utf-8")
            partial.replace(self.path)
        except OSError:
            pass

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)


def read_progress(run_dir: Path) -> RunProgress | None:
    """The progress a running (or dead) eval left in `run_dir`, or None."""
    try:
        data = json.loads((run_dir / PROGRESS_FILE).read_text(encoding="utf-8"))
        return RunProgress(
            run_id=str(data["run_id"]),
            started=str(data["started"]),
            models=[str(m) for m in data["models"]],
            suites=[str(s) for s in data["suites"]],
            total=int(data["total"]),
            done=int(data["done"]),
            pid=int(data["pid"]),
            host=str(data["host"]),
            updated=float(data["updated"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None

"""The embedded local model: a llama.cpp server in a child process that codecrew owns.

`LocalServer` starts `python -m agents.local.child` on 127.0.0.1, waits for `/health`,
and stops it (SIGTERM, then SIGKILL after a grace period). The child also exits on its own
when this process dies, however it dies, so no server is left behind.

`shared_server(size)` is what the rest of codecrew uses: one server per model size per
process, started on first use (fetching the weights if needed) and stopped at exit or on
SIGTERM/SIGINT. Point an OpenAI-compatible client at its `base_url`:

    server = shared_server(parse_local_model("local:qwen2.5-coder-1.5b"))
    OpenAIProvider(base_url=server.base_url, api_key="local")  # model: server.model_name
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO

from agents.config import LOCAL_MODELS, cache_dir, child_environment, local_server_port, local_server_threads

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
PACKAGES_DIR = Path(__file__).resolve().parents[2]  # holds the agents package: the child imports it
CHAT_TEMPLATE = Path(__file__).resolve().parents[1] / "prompts" / "chat_templates" / "qwen2.5-tools.jinja"
READY_LINE = "codecrew local server: listening on"  # printed by agents.local.child
STOP_GRACE_SECONDS = 5.0
LLAMA_ERROR = re.compile(r"^[\d.]+ E (.*)$")  # llama.cpp's log lines at error level


class LocalServerError(RuntimeError):
    """The local model server could not be started or used; the message says what to do."""


def _env_port() -> int | None:
    raw = local_server_port()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise LocalServerError(f"CODECREW_LOCAL_PORT must be a port number, got {raw!r}")
    return int(raw)


def _env_threads() -> int:
    raw = local_server_threads()
    if raw:
        if not raw.isdigit() or int(raw) < 1:
            raise LocalServerError(f"CODECREW_LOCAL_THREADS must be a positive number, got {raw!r}")
        return int(raw)
    try:
        return len(os.sched_getaffinity(0)) or 2  # the cores this process may use
    except AttributeError:  # not on Linux
        return os.cpu_count() or 2


@dataclass(frozen=True)
class LocalSettings:
    """Server-wide settings: the KV cache (n_ctx) is split evenly over n_parallel slots.

    `threads` defaults to the usable cores ($CODECREW_LOCAL_THREADS overrides it). Measured
    for the 1.5B on 2 cores: when they are free, 2 threads generate ~1.8x faster than 1
    (15.4 vs 8.8 tok/s); when other work keeps them busy, 1 thread is ~5x faster (6.6 vs
    1.2 tok/s), because llama.cpp's threads wait for each other at every step.
    """

    n_ctx: int = 16384
    n_parallel: int = 2
    threads: int = field(default_factory=_env_threads)
    port: int | None = field(default_factory=_env_port)


def parse_local_model(name: str) -> str:
    """The weights size of a `local:` model name: 'local:qwen2.5-coder-1.5b' -> '1.5b'."""
    try:
        return LOCAL_MODELS[name.strip()]
    except KeyError:
        choices = " or ".join(LOCAL_MODELS)
        raise LocalServerError(f"unknown local model {name!r}: use {choices}") from None


def port_is_free(port: int, host: str = HOST) -> bool:
    """True when nothing listens on host:port (we could bind it right now)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = HOST) -> int:
    """A port the kernel says is free now (bind port 0 and read what it picked)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def choose_port(preferred: int | None, host: str = HOST) -> int:
    """`preferred` if it is free, else a free port (saying so in one log line)."""
    if preferred is None:
        return free_port(host)
    if port_is_free(preferred, host):
        return preferred
    port = free_port(host)
    logger.warning("port %d is busy; the local model server uses port %d instead", preferred, port)
    return port


class LocalServer:
    """Owns one llama.cpp server child process: start on 127.0.0.1, wait for /health, stop."""

    def __init__(
        self,
        model_path: Path,
        settings: LocalSettings | None = None,
        *,
        alias: str | None = None,
        chat_template: Path | None = CHAT_TEMPLATE,
    ) -> None:
        self.model_path = Path(model_path)
        self.settings = settings or LocalSettings()
        self.model_name = alias or self.model_path.stem
        self.chat_template = chat_template
        self.log_path: Path | None = None
        self.start_seconds: float | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._port: int | None = None

    def __repr__(self) -> str:
        where = self.base_url if self.running else "stopped"
        return f"LocalServer({self.model_name!r}, {where})"

    @property
    def pid(self) -> int | None:
        """The child's pid while it runs, else None."""
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        """True while the child process is alive."""
        return self._proc is not None and self._proc.poll() is None

    @property
    def port(self) -> int:
        """The port the server listens on (once started)."""
        if self._port is None or self._proc is None:
            raise LocalServerError("the local server is not started: call start() first")
        return self._port

    @property
    def url(self) -> str:
        """The server's root URL, e.g. http://127.0.0.1:PORT (for /health, /slots)."""
        return f"http://{HOST}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible API root, http://127.0.0.1:PORT/v1."""
        return f"{self.url}/v1"

    def command(self, port: int) -> list[str]:
        """The child's command line."""
        s = self.settings
        cmd = [
            sys.executable,
            "-m",
            "agents.local.child",
            f"--model={self.model_path}",
            f"--alias={self.model_name}",
            f"--host={HOST}",
            f"--port={port}",
            f"--n-ctx={s.n_ctx}",
            f"--n-parallel={s.n_parallel}",
            f"--threads={s.threads}",
            f"--parent-pid={os.getpid()}",
        ]
        if self.chat_template is not None:
            cmd.append(f"--chat-template={self.chat_template}")
        return cmd

    def start(self, timeout: float = 60) -> str:
        """Start the child, wait until /health answers, and return `base_url`."""
        if self.running:
            return self.base_url
        self._close()
        if not self.model_path.is_file():
            raise LocalServerError(
                f"no model file at {self.model_path}: run `python -m agents.models fetch-local`"
            )
        if self.chat_template is not None and not self.chat_template.is_file():
            raise LocalServerError(f"chat template {self.chat_template} is missing")
        started = time.monotonic()
        port = choose_port(self.settings.port)
        logs = cache_dir() / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.log_path = logs / f"local-server-{self.model_name}-{os.getpid()}-{port}.log"
        self._log = self.log_path.open("wb")
        env = child_environment()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGES_DIR), env.get("PYTHONPATH")]))
        # stdin is a pipe we never write to: the child exits when it reads EOF, which
        # happens when we close it in stop() or when this process dies in any way.
        self._proc = subprocess.Popen(
            self.command(port),
            stdin=subprocess.PIPE,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C in the terminal reaches us, and we stop it
        )
        self._port = port
        try:
            self._wait_ready(self._proc, timeout)
        except BaseException:
            self.stop(keep_log=True)
            raise
        self.start_seconds = time.monotonic() - started
        logger.info(
            "local server %s ready at %s in %.1f s (pid %d)",
            self.model_name,
            self.base_url,
            self.start_seconds,
            self._proc.pid,
        )
        return self.base_url

    def _wait_ready(self, proc: subprocess.Popen[bytes], timeout: float) -> None:
        """Wait for the child's ready line and a 200 from /health; raise if it dies first."""
        import httpx

        deadline = time.monotonic() + timeout
        health = f"http://{HOST}:{self._port}/health"
        with httpx.Client(timeout=2.0) as client:
            while True:
                code = proc.poll()
                if code is not None:
                    raise LocalServerError(
                        f"the local server for {self.model_name} exited with code {code} "
                        f"while starting: {self.log_tail()} (full log: {self.log_path})"
                    )
                if self._saw_ready_line():
                    # The ready line comes after the bind, so /health is ours, not another
                    # process's that grabbed the port between our probe and the bind.
                    with contextlib.suppress(httpx.HTTPError):
                        if client.get(health).status_code == 200:
                            return
                if time.monotonic() > deadline:
                    raise LocalServerError(
                        f"the local server for {self.model_name} was not ready after "
                        f"{timeout:.0f} s: see {self.log_path}, or pass a longer timeout"
                    )
                time.sleep(0.1)

    def _saw_ready_line(self) -> bool:
        if self.log_path is None:
            return False
        try:
            return READY_LINE.encode() in self.log_path.read_bytes()
        except OSError:
            return False

    def log_tail(self, lines: int = 3) -> str:
        """The child's errors (llama.cpp's ' E ' lines) or last lines, joined into one line."""
        if self.log_path is None or not self.log_path.is_file():
            return "(no output)"
        text = self.log_path.read_text(errors="replace")
        found = [line.strip() for line in text.splitlines() if line.strip()]
        errors = list(dict.fromkeys(m[1] for line in found if (m := LLAMA_ERROR.match(line))))
        tail = [*errors[: lines - 1], found[-1]] if errors else found[-lines:]
        return " | ".join(tail) or "(no output)"

    def stop(self, *, keep_log: bool = False) -> None:
        """Stop the child: close its stdin and SIGTERM it, SIGKILL after a grace period."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(OSError):
                if proc.stdin is not None:
                    proc.stdin.close()
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                proc.wait(STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                logger.warning("local server pid %d ignored SIGTERM; killing it", proc.pid)
                proc.kill()
                proc.wait()
        elif proc is not None:
            proc.wait()
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        self._close()
        if not keep_log and self.log_path is not None:
            self.log_path.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> LocalServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


_servers: dict[str, LocalServer] = {}
_lock = threading.RLock()
_atexit_installed = False
_signals_installed = False


def shared_server(size: str) -> LocalServer:
    """The running server for `size` in this process, started (and fetched) on first use."""
    from agents.local.weights import WEIGHTS, WeightsError, fetch_weights

    if size not in WEIGHTS:
        choices = " or ".join(LOCAL_MODELS)
        raise LocalServerError(f"unknown local model size {size!r}: use {choices}")
    with _lock:
        server = _servers.get(size)
        if server is not None and server.running:
            return server
        if server is not None:
            logger.warning("local server %s died (%s); restarting", size, server.log_tail())
            server.stop(keep_log=True)
        _install_cleanup()
        try:
            path = fetch_weights(size, progress=sys.stderr.isatty())
        except WeightsError as exc:
            raise LocalServerError(str(exc)) from exc
        server = LocalServer(path, LocalSettings(), alias=WEIGHTS[size].model_name)
        server.start()
        _servers[size] = server
        return server


def stop_all_servers() -> None:
    """Stop every server shared_server() started in this process."""
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.stop()


def _install_cleanup() -> None:
    """Stop the shared servers at exit and on SIGTERM/SIGINT (then do what was done before)."""
    global _atexit_installed, _signals_installed
    if not _atexit_installed:
        atexit.register(stop_all_servers)
        _atexit_installed = True
    if _signals_installed or threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread; try again later
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _chain_handler(signum, signal.getsignal(signum)))
    _signals_installed = True


def _chain_handler(signum: int, previous: object) -> Callable[[int, FrameType | None], None]:
    """A handler that stops the servers, then runs the previous handler (or the default)."""

    def handler(received: int, frame: FrameType | None) -> None:
        stop_all_servers()
        if callable(previous):
            previous(received, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return handler

"""Child-process entry point that runs llama.cpp's HTTP server (xllamacpp.Server).

Started by `agents.local.server.LocalServer`, not by hand. It serves until one of these happens:
SIGTERM/SIGINT, its standard input reaching EOF (the parent closed the pipe or died, even
by SIGKILL), or its parent pid changing (the parent died and we were re-parented).

    python -m agents.local.child --model M.gguf --port 8080 --parent-pid 123 ...
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import xllamacpp

PARENT_POLL_SECONDS = 0.5


def _exit_now(code: int = 0) -> None:
    """Leave at once: llama.cpp's server threads make a normal interpreter exit unreliable."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _on_signal(signum: int, frame: FrameType | None) -> None:
    """SIGTERM/SIGINT: xllamacpp.Server would ignore a plain SIGTERM, so leave explicitly."""
    _exit_now(0)


def _watch_stdin() -> None:
    """Exit when stdin reaches EOF: the parent closed its end of the pipe or died."""
    try:
        while os.read(sys.stdin.fileno(), 4096):
            pass
    except OSError:
        pass
    _exit_now(0)


def _watch_parent(parent_pid: int) -> None:
    """Exit when the parent is gone (backstop if stdin was not a pipe from the parent)."""
    while True:
        if os.getppid() != parent_pid:
            _exit_now(0)
        time.sleep(PARENT_POLL_SECONDS)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The server's command line (written by LocalServer)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="the GGUF file")
    parser.add_argument("--alias", required=True, help="the model id /v1/models reports")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--n-ctx", type=int, default=16384, help="KV cache, all slots together")
    parser.add_argument("--n-parallel", type=int, default=2, help="slots (parallel requests)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--chat-template", type=Path, help="a Jinja chat template file")
    parser.add_argument("--parent-pid", type=int, default=os.getppid())
    return parser.parse_args(argv)


def build_params(args: argparse.Namespace) -> xllamacpp.CommonParams:
    """llama.cpp server parameters for one model on the loopback interface."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(args.model)
    params.model_alias = {args.alias}
    params.hostnames = [args.host]
    params.port = args.port
    params.n_ctx = args.n_ctx  # split evenly over the slots (kv_unified stays off)
    params.n_parallel = args.n_parallel
    params.cpuparams.n_threads = args.threads
    params.cpuparams_batch.n_threads = args.threads
    params.use_jinja = True
    if args.chat_template:
        params.chat_template = args.chat_template.read_text()
    # Prompt caching: reuse a slot's KV cache for the common prefix of the previous prompt
    # (an agent's system prompt and history), and send a request to the slot whose cached
    # prompt shares at least half of it, so two agents keep one slot each.
    params.cache_prompt = True
    params.slot_prompt_similarity = 0.5
    params.ui = False  # no web UI: this server is an API for codecrew only
    return params


def main(argv: list[str] | None = None) -> None:
    """Arm the exit paths, load the model, then serve until told to stop."""
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    if os.getppid() != args.parent_pid:  # the parent died before we got here
        _exit_now(0)
    threading.Thread(target=_watch_stdin, name="stdin-watch", daemon=True).start()
    threading.Thread(target=_watch_parent, args=(args.parent_pid,), name="parent-watch", daemon=True).start()

    import xllamacpp

    try:
        server = xllamacpp.Server(build_params(args))  # loads the model, then serves in threads
    except (RuntimeError, OSError, ValueError) as exc:  # llama.cpp logged the reason above
        print(f"codecrew local server: failed to start: {exc}", flush=True)
        _exit_now(1)
    print(f"codecrew local server: listening on {server.listening_address}", flush=True)
    while True:  # the main thread only waits; signals and the watchers end the process
        time.sleep(3600)


if __name__ == "__main__":
    main()

"""Issue 11, item 6: `agents.run` stopped by SIGINT or SIGTERM mid-generation keeps what was
streamed (answer.md), leaves a manifest saying "interrupted", records the generator as
interrupted in the history, and exits 130 / 143. A real subprocess against a scripted, slow
OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CHUNK = "<!-- line {n} of the game -->\n"


class SlowServer:
    """Coordinator requests (with tools) get a generate_code tool call; the generator's
    streamed request gets one chunk every 0.1 s for a minute."""

    def __init__(self) -> None:
        self.chunks_sent = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                if body.get("tools"):
                    self._json(outer.tool_call(body))
                elif body.get("stream"):
                    self._stream()
                else:
                    self._json(outer.text_answer("```html\n<p>no</p>\n```"))

            def _json(self, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("connection", "close")
                self.end_headers()
                try:
                    self._event({"role": "assistant", "content": "```html\n"})
                    for n in range(600):
                        self._event({"content": CHUNK.format(n=n)})
                        outer.chunks_sent += 1
                        time.sleep(0.1)
                except OSError:  # the client went away
                    return

            def _event(self, delta: dict) -> None:
                chunk = {
                    "id": "c1",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": "slow",
                    "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
                }
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    @staticmethod
    def tool_call(body: dict) -> dict:
        message = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "generate_code", "arguments": json.dumps({"spec": "Tetris."})},
                }
            ],
        }
        return SlowServer._completion(message, "tool_calls")

    @staticmethod
    def text_answer(text: str) -> dict:
        return SlowServer._completion({"role": "assistant", "content": text}, "stop")

    @staticmethod
    def _completion(message: dict, finish: str) -> dict:
        return {
            "id": "c1",
            "object": "chat.completion",
            "created": 0,
            "model": "slow",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        }

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def slow_server() -> Iterator[SlowServer]:
    server = SlowServer()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize(("signum", "exit_code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_generation_keeps_what_was_streamed(
    slow_server: SlowServer, tmp_path: Path, signum: int, exit_code: int
) -> None:
    out = tmp_path / "out"
    history = tmp_path / "history.sqlite"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "OPENAI_BASE_URL": slow_server.url,
        "OPENAI_API_KEY": "sk-test",
        "COORDINATOR_MODEL": "openai-chat:slow",
        "CODE_GENERATOR_MODEL": "openai-chat:slow",
        "CODE_EXTRACTOR_MODEL": "openai-chat:slow",
        "CODECREW_HISTORY": str(history),
        "CODECREW_CACHE_DIR": str(tmp_path / "cache"),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "agents.run", "build tetris", "--out", str(out)],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while slow_server.chunks_sent < 5 and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert slow_server.chunks_sent >= 5, "the generator never started streaming"
        time.sleep(0.3)  # the client has read the first chunks
        proc.send_signal(signum)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == exit_code, output
    assert "interrupted" in output and "Traceback" not in output
    answer = (out / "answer.md").read_text()
    assert answer.startswith("```html\n") and CHUNK.format(n=0) in answer and CHUNK.format(n=3) in answer
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["failed_role"] == "generator"
    rows = sqlite3.connect(history).execute("SELECT role, outcome FROM calls").fetchall()
    assert ("generator", "interrupted") in rows
    assert ("generator", "ok") not in rows


def test_a_history_of_schema_1_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from tools.history import SCHEMA_VERSION, CallRecord, History

    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE calls (
            id INTEGER PRIMARY KEY, model TEXT NOT NULL, role TEXT NOT NULL, task_type TEXT,
            started TEXT NOT NULL, duration REAL NOT NULL, requests INTEGER NOT NULL,
            input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL, cost REAL,
            outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'error', 'lazy')),
            error_class TEXT, run_id TEXT, source TEXT NOT NULL);
        CREATE INDEX calls_model_started ON calls (model, started);
        INSERT INTO calls VALUES (1, 'm', 'generator', NULL, '2026-01-01T00:00:00+00:00', 1.0, 1,
                                  10, 20, NULL, 'ok', NULL, 'r1', 'run');
        PRAGMA user_version = 1;
        """
    )
    db.close()
    history = History(path)
    history.record_call(
        CallRecord(
            model="m",
            role="generator",
            task_type=None,
            started=datetime.now(UTC),
            duration=2.0,
            requests=1,
            input_tokens=1,
            output_tokens=1,
            cost=None,
            outcome="interrupted",
            error_class=None,
        )
    )
    rows = sqlite3.connect(path).execute("SELECT id, outcome, answered_by FROM calls ORDER BY id").fetchall()
    assert rows == [(1, "ok", None), (2, "interrupted", None)]  # rebuilt with every column since
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION

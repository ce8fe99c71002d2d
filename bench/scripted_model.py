"""A scripted OpenAI-compatible model server on 127.0.0.1, for tests and benches of eval runs.

It answers every chat completion after a fixed latency with the canonical solution of the
HumanEval task in the prompt (or `print(1)` for any other prompt), and records each
request's arrival time and model, so callers can check what reached "the provider": how
many requests, how fast, from how many clients at once.

    with ScriptedModelServer(latency=0.5) as server:
        env = {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "scripted"}
        # python -m evals.run --models openai-chat:m1 --suite humaneval ...
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Arrival:
    """One request as the server saw it."""

    at: float  # time.time() on arrival
    model: str
    task_id: str | None


def humaneval_answers() -> dict[str, str]:
    """HumanEval prompt -> a fenced answer with its canonical solution."""
    from evals import humaneval

    return {
        p["prompt"].strip(): f"```python\n{p['prompt']}{p['canonical_solution']}```"
        for p in humaneval.load_problems()
    }


class ScriptedModelServer:
    """A threaded HTTP server speaking `POST /v1/chat/completions` (and `GET /v1/models`)."""

    def __init__(self, latency: float = 0.5) -> None:
        self.latency = latency
        self.arrivals: list[Arrival] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        answers = humaneval_answers()
        ids = {prompt: f"HumanEval/{i}" for i, prompt in enumerate(answers)}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

            def do_GET(self) -> None:
                self._send({"object": "list", "data": []})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
                prompt = " ".join(
                    str(m.get("content") or "") for m in body.get("messages", []) if m.get("role") == "user"
                )
                found = next((p for p in answers if p in prompt), None)
                with server.lock:
                    server.arrivals.append(
                        Arrival(time.time(), str(body.get("model")), ids.get(found) if found else None)
                    )
                    server.in_flight += 1
                    server.most_in_flight = max(server.most_in_flight, server.in_flight)
                try:
                    time.sleep(server.latency)
                finally:
                    with server.lock:
                        server.in_flight -= 1
                text = answers[found] if found else "```python\nprint(1)\n```"
                self._send(
                    {
                        "id": "chatcmpl-scripted",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model"),
                        "choices": [
                            {
                                "index": 0,
                                "message": {"role": "assistant", "content": text},
                                "finish_reason": "stop",
                            }
                        ],
                        "usage": {
                            "prompt_tokens": len(prompt) // 4,
                            "completion_tokens": len(text) // 4,
                            "total_tokens": len(prompt) // 4 + len(text) // 4,
                        },
                    }
                )

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def env(self) -> dict[str, str]:
        """What a process needs to reach this server as `openai-chat:<any name>`."""
        return {"OPENAI_BASE_URL": self.base_url, "OPENAI_API_KEY": "scripted"}

    def __enter__(self) -> ScriptedModelServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

"""The embedded llama.cpp server's life cycle.

Fast tests need no model. The e2e tests use the real 1.5B weights (fetched on first use,
as setup.sh does); run only them with `uv run pytest -m e2e tests/test_local.py`.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from agents.local import server as local
from agents.local.server import (
    LocalServer,
    LocalServerError,
    LocalSettings,
    choose_port,
    parse_local_model,
)


@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("local:qwen2.5-coder-1.5b", "1.5b"),
        ("local:qwen2.5-coder-0.5b", "0.5b"),
        (" local:qwen2.5-coder-1.5b ", "1.5b"),
    ],
)
def test_parse_local_model(name: str, size: str) -> None:
    assert parse_local_model(name) == size


@pytest.mark.parametrize("name", ["local:x", "qwen2.5-coder-1.5b", "local:qwen2.5-coder-7b", ""])
def test_parse_local_model_refuses_unknown_names(name: str) -> None:
    with pytest.raises(LocalServerError) as info:
        parse_local_model(name)
    assert str(info.value) == (
        f"unknown local model {name!r}: use local:qwen2.5-coder-1.5b or local:qwen2.5-coder-0.5b"
    )


def test_a_busy_port_is_replaced_by_a_free_one(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as busy:
        busy.bind((local.HOST, 0))
        busy.listen()
        taken = busy.getsockname()[1]
        with caplog.at_level(logging.WARNING, logger="agents.local.server"):
            port = choose_port(taken)
        assert port != taken
        assert local.port_is_free(port)
    assert [r.getMessage() for r in caplog.records] == [
        f"port {taken} is busy; the local model server uses port {port} instead"
    ]


def test_a_free_configured_port_is_kept() -> None:
    port = local.free_port()
    assert choose_port(port) == port
    assert isinstance(choose_port(None), int)


def test_settings_read_the_port_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CODECREW_LOCAL_PORT", "8123")
    assert LocalSettings().port == 8123
    monkeypatch.setenv("CODECREW_LOCAL_PORT", "http")
    with pytest.raises(LocalServerError, match="CODECREW_LOCAL_PORT must be a port number"):
        LocalSettings()
    monkeypatch.delenv("CODECREW_LOCAL_PORT")
    monkeypatch.setenv("CODECREW_LOCAL_THREADS", "1")
    assert LocalSettings().threads == 1
    monkeypatch.setenv("CODECREW_LOCAL_THREADS", "0")
    with pytest.raises(LocalServerError, match="CODECREW_LOCAL_THREADS must be a positive"):
        LocalSettings()
    monkeypatch.delenv("CODECREW_LOCAL_THREADS")
    settings = LocalSettings()
    assert (settings.port, settings.n_ctx, settings.n_parallel) == (None, 16384, 2)
    assert settings.threads >= 1


def test_start_without_weights_says_how_to_fetch(tmp_path: Path) -> None:
    server = LocalServer(tmp_path / "missing.gguf")
    with pytest.raises(LocalServerError, match="fetch-local"):
        server.start()
    assert server.pid is None
    with pytest.raises(LocalServerError, match="not started"):
        _ = server.base_url


def test_a_child_that_dies_while_starting_reports_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real child process and llama.cpp, fed a file that is not a GGUF (about 1 s)."""
    monkeypatch.setenv("CODECREW_CACHE_DIR", str(tmp_path / "cache"))
    model = tmp_path / "garbage.gguf"
    model.write_bytes(b"not a gguf file" * 100)
    server = LocalServer(model)
    with pytest.raises(LocalServerError) as info:
        server.start(timeout=30)
    message = str(info.value)
    assert "\n" not in message
    assert "exited with code 1 while starting" in message
    assert "invalid magic characters" in message
    assert server.pid is None and not server.running
    server.stop()  # idempotent


def test_the_command_line_carries_the_settings(tmp_path: Path) -> None:
    server = LocalServer(tmp_path / "m.gguf", LocalSettings(n_ctx=4096, n_parallel=3, threads=1))
    cmd = server.command(8080)
    assert cmd[:3] == [sys.executable, "-m", "agents.local.child"]
    assert {"--port=8080", "--n-ctx=4096", "--n-parallel=3", "--threads=1", "--alias=m"} <= set(cmd)
    assert f"--parent-pid={os.getpid()}" in cmd
    assert f"--chat-template={local.CHAT_TEMPLATE}" in cmd
    assert local.CHAT_TEMPLATE.is_file()


def test_shared_server_refuses_an_unknown_size() -> None:
    with pytest.raises(LocalServerError, match="unknown local model size '3b'"):
        local.shared_server("3b")


# ---------------------------------------------------------------- e2e: the real model


def process_gone(pid: int) -> bool:
    """True when no process `pid` runs (a zombie waiting for its reaper counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def wait_gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process_gone(pid):
            return True
        time.sleep(0.1)
    return process_gone(pid)


SMALL = LocalSettings(n_ctx=2048, n_parallel=1)  # life-cycle tests need no big KV cache


def weights(size: str) -> Path:
    from agents.local.weights import fetch_weights

    return fetch_weights(size, progress=False)


@pytest.fixture(scope="module")
def server() -> Iterator[LocalServer]:
    with LocalServer(weights("1.5b")) as running:
        yield running


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.mark.e2e
def test_server_answers_health_and_lists_the_model(server: LocalServer) -> None:
    assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}
    models = httpx.get(f"{server.base_url}/models").json()
    assert [m["id"] for m in models["data"]] == ["qwen2.5-coder-1.5b-instruct-q4_k_m"]
    assert server.model_name == "qwen2.5-coder-1.5b-instruct-q4_k_m"


@pytest.mark.e2e
def test_a_tool_definition_gets_a_real_tool_call(server: LocalServer) -> None:
    """The chat-template fix: llama.cpp parses the 1.5B's tool call into `tool_calls`."""
    body = {
        "messages": [{"role": "user", "content": "What is the weather in Paris?"}],
        "tools": [WEATHER_TOOL],
        "temperature": 0,
        "max_tokens": 100,
    }
    reply = httpx.post(f"{server.base_url}/chat/completions", json=body, timeout=300).json()
    message = reply["choices"][0]["message"]
    assert reply["choices"][0]["finish_reason"] == "tool_calls", message
    (call,) = message["tool_calls"]
    assert call["function"]["name"] == "get_weather"
    assert "paris" in call["function"]["arguments"].lower()


@pytest.mark.e2e
def test_a_pydantic_ai_agent_runs_a_tool(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import pydantic_ai.models
    from pydantic_ai import Agent
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    monkeypatch.setattr(pydantic_ai.models, "ALLOW_MODEL_REQUESTS", True)
    model = OpenAIChatModel(
        server.model_name, provider=OpenAIProvider(base_url=server.base_url, api_key="local")
    )
    agent = Agent(model, model_settings={"temperature": 0, "max_tokens": 200})
    cities: list[str] = []

    @agent.tool_plain
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        cities.append(city)
        return f"It is 21 degrees and sunny in {city}."

    result = agent.run_sync("What is the weather in Paris?")
    assert [c.lower() for c in cities] == ["paris"]
    assert "21" in result.output


@pytest.mark.e2e
def test_stop_leaves_no_process() -> None:
    server = LocalServer(weights("1.5b"), SMALL)
    server.start()
    pid = server.pid
    assert pid is not None and not process_gone(pid)
    server.stop()
    assert process_gone(pid)
    assert server.pid is None
    server.stop()  # idempotent


PARENT = """
import sys, time
from pathlib import Path
from agents.local.server import LocalServer, LocalSettings, shared_server
{start}
print(server.pid, flush=True)
time.sleep(600)
"""


def spawn_parent(start: str) -> tuple[subprocess.Popen[str], int]:
    """A Python process that starts a server, prints its child's pid, then sleeps."""
    code = PARENT.format(start=start)
    parent = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, cwd=local.PACKAGES_DIR
    )
    assert parent.stdout is not None
    line = parent.stdout.readline()
    assert line.strip().isdigit(), f"the parent printed {line!r}"
    return parent, int(line)


@pytest.mark.e2e
def test_a_killed_parent_leaves_no_child() -> None:
    path = weights("1.5b")
    start = f"server = LocalServer(Path({str(path)!r}), LocalSettings(n_ctx=2048)); server.start()"
    parent, child = spawn_parent(start)
    try:
        assert not process_gone(child)
        parent.kill()  # SIGKILL: no handler, no atexit
        parent.wait()
        assert wait_gone(child), f"local server pid {child} outlived its parent"
    finally:
        if not process_gone(child):
            os.kill(child, signal.SIGKILL)


@pytest.mark.e2e
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signalled_parent_stops_its_shared_server(signum: int) -> None:
    weights("1.5b")
    parent, child = spawn_parent('server = shared_server("1.5b")')
    try:
        parent.send_signal(signum)
        assert parent.wait(timeout=30) != 0
        assert process_gone(child), "shared_server's child outlived a signalled parent"
    finally:
        if not process_gone(child):
            os.kill(child, signal.SIGKILL)

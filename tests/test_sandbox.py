"""The sandbox really contains model-generated code: real runs of every mechanism that works
on this machine, no mocks. Bombs are kept small (few processes, short timeouts)."""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tools.sandbox import (
    DEFAULT_PATH,
    ISOLATIONS,
    SOCKET_GUARD,
    SandboxLimits,
    available_isolations,
    isolation_available,
    run_sandboxed,
)

PY = "python3"  # resolved on the sandbox PATH: Debian's interpreter, reachable by any uid
HERE = available_isolations()
every_isolation = pytest.mark.parametrize("isolation", HERE)
IS_ROOT = os.geteuid() == 0
REPO = Path(__file__).resolve().parents[1]
NODE = shutil.which("node", path=DEFAULT_PATH)
needs_node = pytest.mark.skipif(NODE is None, reason="node is not installed")


def processes_with(marker: str) -> list[int]:
    """Live (non-zombie) processes whose command line mentions `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def assert_no_leftovers(marker: str) -> None:
    deadline = time.monotonic() + 2
    while processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert processes_with(marker) == []


def test_isolation_in_force_is_the_best_that_works():
    assert HERE and set(HERE) <= set(ISOLATIONS)
    assert isolation_available() == HERE[0]
    if IS_ROOT and shutil.which("bwrap", path=DEFAULT_PATH):
        assert isolation_available() == "bwrap"


def test_runs_python_with_stdout_stderr_and_returncode():
    code = "import sys\nprint('hello', 6 * 7)\nprint('oops', file=sys.stderr)\nsys.exit(3)\n"
    result = run_sandboxed([PY, "main.py"], {"main.py": code})
    assert (result.returncode, result.stdout, result.stderr) == (3, "hello 42\n", "oops\n")
    assert not result.ok and result.killed_reason is None and not result.timed_out
    assert result.isolation == isolation_available()

    result = run_sandboxed([PY, "-c", "print('fine')"])
    assert result.ok and result.stdout == "fine\n" and result.returncode == 0


def test_files_in_subdirs_cwd_is_home_and_dir_is_removed():
    files = {
        "pkg/__init__.py": "",
        "pkg/mod.py": "X = 5\n",
        "data.bin": b"\x00\x01\x02",
        "main.py": (
            "import os, pkg.mod\n"
            "print(pkg.mod.X, len(open('data.bin', 'rb').read()))\n"
            "print(os.getcwd())\nprint(os.environ['HOME'])\n"
            "open('made.txt', 'w').write('ok')\n"
        ),
    }
    result = run_sandboxed([PY, "main.py"], files)
    assert result.ok, result.stderr
    first, cwd, home = result.stdout.splitlines()
    assert first == "5 3" and cwd == home
    assert not Path(cwd).exists()


@pytest.mark.parametrize("name", ["../escape.py", "/etc/escape.py", "a/../../b.py", ""])
def test_file_names_may_not_leave_the_run_dir(name):
    with pytest.raises(ValueError):
        run_sandboxed([PY, "-c", "pass"], {name: "x"})


def test_stdin_is_fed_without_deadlock():
    data = "abc\n" * 50_000  # 200 kB: more than a pipe buffer
    code = "import sys\ndata = sys.stdin.read()\nprint(len(data), data[:4].upper().strip())"
    result = run_sandboxed([PY, "-c", code], stdin=data)
    assert result.ok and result.stdout == "200000 ABC\n"


def test_missing_command_is_a_failed_result_not_an_exception():
    result = run_sandboxed(["no-such-command-xyz"])
    assert not result.ok and result.returncode not in (0, None)


@every_isolation
def test_infinite_loop_times_out_and_is_killed(isolation):
    limits = SandboxLimits(timeout=1, cpu_seconds=10)
    result = run_sandboxed([PY, "-c", "while True: pass"], limits=limits, isolation=isolation)
    assert result.timed_out and result.killed_reason == "timeout" and not result.ok
    assert result.returncode is None
    assert 1 <= result.duration < 2


@every_isolation
def test_children_that_escape_the_process_group_are_killed(isolation):
    if isolation == SOCKET_GUARD and not IS_ROOT:
        pytest.skip("without root and namespaces, setsid() children can outlive the run")
    marker = f"escapee-{uuid.uuid4().hex}"
    code = (
        "import os, sys, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    time.sleep(60)\n"
        "print('parent leaves', flush=True)\n"
    )
    result = run_sandboxed([PY, "main.py", marker], {"main.py": code}, isolation=isolation)
    assert result.ok and result.stdout == "parent leaves\n"
    assert result.duration < 3  # the run does not wait for the background child
    assert_no_leftovers(marker)


def test_cpu_limit_kills_a_busy_loop():
    limits = SandboxLimits(timeout=8, cpu_seconds=1)  # wall time > 1 s when cores are busy
    result = run_sandboxed([PY, "-c", "while True: pass"], limits=limits)
    assert not result.ok and not result.timed_out and result.killed_reason == "cpu"
    assert result.returncode is not None and result.returncode < 0


@pytest.mark.parametrize(
    "code",
    [
        "b = bytearray(2 * 1024**3)\nprint(len(b))",
        "chunks = []\nwhile True:\n    chunks.append(b'x' * 50_000_000)",
    ],
    ids=["2GB-at-once", "growing"],
)
def test_memory_hog_is_stopped(code):
    result = run_sandboxed([PY, "-c", code])  # default limits: 512 MB
    assert not result.ok and result.killed_reason == "memory", result
    assert "MemoryError" in result.stderr and not result.timed_out


@every_isolation
def test_process_cap_stops_forking(isolation):
    code = (
        "import os, time\n"
        "pids = []\n"
        "try:\n"
        "    while len(pids) < 200:\n"
        "        pid = os.fork()\n"
        "        if pid == 0:\n"
        "            time.sleep(10)\n"
        "            os._exit(0)\n"
        "        pids.append(pid)\n"
        "except OSError as e:\n"
        "    print(len(pids), e.errno)\n"
        "for pid in pids:\n"
        "    os.kill(pid, 9)\n"
    )
    limits = SandboxLimits(timeout=5, max_processes=8)
    result = run_sandboxed([PY, "-c", code], limits=limits, isolation=isolation)
    assert result.ok, result.stderr
    forked, err = map(int, result.stdout.split())
    assert err == errno.EAGAIN
    exact = IS_ROOT or isolation != SOCKET_GUARD  # else: our uid's other tasks count too
    assert 1 <= forked < (limits.max_processes if exact else 200)


@every_isolation
def test_fork_bomb_is_contained_and_cleaned_up(isolation):
    marker = f"bomb-{uuid.uuid4().hex}"
    code = (
        "import os, time\n"
        "deadline = time.monotonic() + 1\n"
        "while time.monotonic() < deadline:\n"
        "    try:\n"
        "        os.fork()\n"
        "    except OSError:\n"
        "        time.sleep(0.01)\n"
        "time.sleep(30)\n"
    )
    limits = SandboxLimits(timeout=2, cpu_seconds=2, max_processes=8)
    started = time.monotonic()
    result = run_sandboxed([PY, "bomb.py", marker], {"bomb.py": code}, limits=limits, isolation=isolation)
    assert result.timed_out and not result.ok
    assert time.monotonic() - started < 4
    if isolation != SOCKET_GUARD or IS_ROOT:
        assert_no_leftovers(marker)
    # the machine is fine: we can still start processes
    assert subprocess.run(["true"], check=False).returncode == 0


@every_isolation
def test_writes_outside_the_run_dir_fail_or_vanish(isolation):
    tag = uuid.uuid4().hex
    targets = [Path(f"/root/evil-{tag}.txt"), REPO / f"evil-{tag}.txt"]
    if isolation != SOCKET_GUARD:  # world-writable dirs are only private with namespaces
        targets += [Path(f"/{tmp}/evil-{tag}") for tmp in ("tmp", "var/tmp", "dev/shm")]
    code = (
        "import sys\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        open(path, 'w').write('pwned')\n"
        "    except OSError as e:\n"
        "        print('refused', path, e.strerror)\n"
        "open('inside.txt', 'w').write('fine')\n"
        "print('inside ok')\n"
    )
    try:
        result = run_sandboxed([PY, "-c", code, *map(str, targets)], isolation=isolation)
        assert result.ok and "inside ok" in result.stdout, result.stderr
        assert [t for t in targets if t.exists()] == []
    finally:
        for target in targets:
            target.unlink(missing_ok=True)


@every_isolation
def test_network_is_unreachable(isolation):
    connect = (
        "import socket, sys\n"
        "for host, port in [('127.0.0.1', int(sys.argv[1])), ('1.1.1.1', 53)]:\n"
        "    try:\n"
        "        socket.create_connection((host, port), timeout=2).close()\n"
        "        print('connected', host)\n"
        "    except OSError as e:\n"
        "        print('blocked', host, e)\n"
    )
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = str(server.getsockname()[1])
        control = subprocess.run(
            [PY, "-c", connect, port], capture_output=True, text=True, timeout=10, check=True
        )
        assert "connected 127.0.0.1" in control.stdout  # the test can tell
        result = run_sandboxed([PY, "-c", connect, port], isolation=isolation)
    assert result.ok, result.stderr
    assert "connected" not in result.stdout
    assert "blocked 127.0.0.1" in result.stdout and "blocked 1.1.1.1" in result.stdout


@every_isolation
def test_secrets_in_our_environment_are_not_visible(isolation, monkeypatch):
    secret = f"sk-test-{uuid.uuid4().hex}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    code = (
        "import json, os\n"
        "try:\n"
        "    parent = open(f'/proc/{os.getppid()}/environ').read()\n"
        "except OSError:\n"
        "    parent = ''\n"
        "print(json.dumps({'env': dict(os.environ), 'parent': parent, 'cwd': os.getcwd()}))\n"
    )
    result = run_sandboxed([PY, "-c", code], env={"GREETING": "hi"}, isolation=isolation)
    assert result.ok, result.stderr
    assert secret not in result.stdout
    seen = json.loads(result.stdout)
    assert "OPENAI_API_KEY" not in seen["env"]
    assert seen["env"]["GREETING"] == "hi" and seen["env"]["PATH"] == DEFAULT_PATH
    assert seen["env"]["HOME"] == seen["cwd"]


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_output_flood_is_truncated_and_stopped(stream):
    code = f"import sys\nwhile True:\n    print('x' * 1000, file=sys.{stream})"
    limits = SandboxLimits(timeout=10, max_output_bytes=10_000)
    result = run_sandboxed([PY, "-c", code], limits=limits)
    flooded = getattr(result, stream)
    assert result.truncated and result.killed_reason == "output-limit" and not result.ok
    assert len(flooded.encode()) == 10_000
    assert result.duration < 3


def test_file_size_limit():
    code = "open('big.bin', 'wb').write(b'x' * 5_000_000)"
    result = run_sandboxed([PY, "-c", code], limits=SandboxLimits(max_file_bytes=1_000_000))
    assert not result.ok and result.killed_reason == "file-size", result


@needs_node
def test_node_runs_a_js_file():
    files = {"main.js": "console.log([1, 2, 3].map((x) => x * 2).join(','));\n"}
    result = run_sandboxed(["node", "main.js"], files)
    assert result.ok, result.stderr
    assert result.stdout == "2,4,6\n"


@needs_node
def test_node_memory_hog_is_stopped():
    code = "const a = []; for (;;) a.push(new Array(1e6).fill(1.5));"
    result = run_sandboxed(["node", "-e", code], limits=SandboxLimits(memory_mb=256))
    assert not result.ok and result.killed_reason == "memory", result.stderr[-500:]
    assert not result.timed_out


@needs_node
@pytest.mark.parametrize("isolation", [i for i in HERE if i != SOCKET_GUARD])
def test_node_cannot_reach_the_network(isolation):
    code = (
        "const net = require('net');\n"
        "const s = net.connect({host: '127.0.0.1', port: Number(process.argv[1])});\n"
        "s.on('connect', () => { console.log('connected'); s.destroy(); });\n"
        "s.on('error', (e) => console.log('blocked', e.code));\n"
    )
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = str(server.getsockname()[1])
        result = run_sandboxed(["node", "-e", code, port], isolation=isolation)
    assert result.ok, result.stderr
    assert result.stdout.startswith("blocked")

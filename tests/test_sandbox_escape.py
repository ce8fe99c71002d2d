"""Issue 11: the ways generated code got out of the sandbox (Unix sockets on the host, unbounded
disk, a tier that silently fell back), and the harness failures that were blamed on the model
(an interpreter the sandbox could not see). Real runs, no mocks."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tools.sandbox import (
    BWRAP,
    SOCKET_GUARD,
    UNSHARE,
    SandboxLimits,
    available_isolations,
    describe_isolation,
    run_sandboxed,
)
from tools.sandbox import argv as sandbox_argv

PY = "python3"
HERE = available_isolations()
NAMESPACED = [i for i in HERE if i != SOCKET_GUARD]
namespaced = pytest.mark.parametrize("isolation", NAMESPACED)


@pytest.fixture
def host_sockets() -> Iterator[list[str]]:
    """Listening Unix sockets the test owns, world-connectable, in the host dirs that
    usually hold them (a Docker or database socket lives in /run, /var/tmp or /tmp)."""
    servers: list[socket.socket] = []
    dirs: list[str] = []
    paths: list[str] = []
    for base in ("/tmp", "/var/tmp", "/run", "/dev/shm"):
        if not os.path.isdir(base) or not os.access(base, os.W_OK):
            continue
        folder = tempfile.mkdtemp(prefix="codecrew-sock-", dir=base)
        os.chmod(folder, 0o755)
        path = os.path.join(folder, "s.sock")
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(path)
        os.chmod(path, 0o777)
        server.listen(8)
        servers.append(server)
        dirs.append(folder)
        paths.append(path)
    try:
        yield paths
    finally:
        for server in servers:
            server.close()
        for folder in dirs:
            shutil.rmtree(folder, ignore_errors=True)


CONNECT_UNIX = (
    "import socket, sys\n"
    "for path in sys.argv[1:]:\n"
    "    try:\n"
    "        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
    "        s.connect(path)\n"
    "        print('connected', path)\n"
    "    except OSError as e:\n"
    "        print('refused', path, e.strerror)\n"
)


@namespaced
def test_no_unix_socket_on_the_host_is_reachable(isolation: str, host_sockets: list[str]) -> None:
    assert host_sockets
    control = subprocess.run(
        [PY, "-c", CONNECT_UNIX, *host_sockets], capture_output=True, text=True, timeout=10, check=True
    )
    assert control.stdout.count("connected") == len(host_sockets)  # the test can tell
    result = run_sandboxed([PY, "-c", CONNECT_UNIX, *host_sockets], isolation=isolation)
    assert result.ok, result.stderr
    assert "connected" not in result.stdout, result.stdout
    assert result.stdout.count("refused") == len(host_sockets)


@namespaced
def test_no_unix_socket_outside_the_private_dirs_is_reachable(isolation: str) -> None:
    """A socket on the root but outside /tmp, /run... (here /var/lib, /srv or /opt) is still
    seen by path; the seccomp filter (loaded by bwrap, or by our loader under unshare-net)
    refuses AF_UNIX sockets, so it cannot be connected to. socketpair (asyncio,
    multiprocessing) still works."""
    base = next((d for d in ("/var/lib", "/srv", "/opt") if os.path.isdir(d) and os.access(d, os.W_OK)), None)
    if base is None:
        pytest.skip("no writable host dir outside the private tmpfs dirs")
    folder = tempfile.mkdtemp(prefix="codecrew-sock-", dir=base)
    os.chmod(folder, 0o755)
    path = os.path.join(folder, "s.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(path)
        os.chmod(path, 0o777)
        server.listen(8)
        probe = CONNECT_UNIX + (
            "a, b = socket.socketpair(); a.send(b'x'); print('socketpair', b.recv(1))\n"
            "import asyncio; asyncio.run(asyncio.sleep(0)); print('asyncio runs')\n"
        )
        result = run_sandboxed([PY, "-c", probe, path], isolation=isolation)
    finally:
        server.close()
        shutil.rmtree(folder, ignore_errors=True)
    assert result.ok, result.stderr
    assert f"refused {path} Permission denied" in result.stdout, result.stdout
    assert "socketpair b'x'" in result.stdout and "asyncio runs" in result.stdout


WRITE_UNTIL_FULL = (
    "import os, sys\n"
    "total = 0\n"
    "target = sys.argv[1]\n"
    "os.makedirs(target, exist_ok=True)\n"
    "chunk = b'x' * 1_000_000\n"
    "try:\n"
    "    for i in range(300):\n"  # 300 MB in 1 MB files: the per-file cap never trips
    "        with open(os.path.join(target, f'f{i}'), 'wb') as f:\n"
    "            f.write(chunk)\n"
    "        total += len(chunk)\n"
    "    print('wrote all', total)\n"
    "except OSError as e:\n"
    "    print('stopped', total, e.errno)\n"
)


@namespaced
@pytest.mark.parametrize("where", ["work", "/tmp/spill"])
def test_total_disk_written_is_capped(isolation: str, where: str) -> None:
    limits = SandboxLimits(max_disk_mb=64, timeout=20)
    result = run_sandboxed([PY, "-c", WRITE_UNTIL_FULL, where], limits=limits, isolation=isolation)
    assert result.ok, result.stderr
    assert result.stdout.startswith("stopped"), result.stdout
    written = int(result.stdout.split()[1])
    assert written <= 64 * 1024 * 1024  # max_disk_mb is in MiB


@namespaced
def test_work_dir_and_tmp_share_one_cap(isolation: str) -> None:
    code = (
        "import os\n"
        "open('/tmp/a', 'wb').write(b'x' * 40_000_000)\n"
        "try:\n"
        "    open('b', 'wb').write(b'x' * 40_000_000)\n"
        "    print('both fit')\n"
        "except OSError as e:\n"
        "    print('full', e.errno)\n"
    )
    limits = SandboxLimits(max_disk_mb=64, max_file_bytes=50_000_000, timeout=20)
    result = run_sandboxed([PY, "-c", code], limits=limits, isolation=isolation)
    assert result.stdout.startswith("full"), (result.stdout, result.stderr)


@namespaced
def test_files_given_to_the_run_are_there_and_writable(isolation: str) -> None:
    files = {"main.py": "print(open('data/in.txt').read().strip())\nopen('data/in.txt', 'a').write('!')\n"}
    files["data/in.txt"] = "hello"
    result = run_sandboxed([PY, "main.py"], files, isolation=isolation)
    assert result.ok and result.stdout == "hello\n", result.stderr


@pytest.mark.parametrize("isolation", NAMESPACED)
def test_tier_works_with_the_checkout_under_tmp(
    isolation: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checkout (a hidden dir) under /tmp, which the sandbox replaces with a tmpfs:
    unshare-net failed every run with "mount point does not exist"."""
    checkout = tmp_path / "checkout"
    (checkout / "sub").mkdir(parents=True)
    (checkout / ".env").write_text("SECRET=1\n")
    monkeypatch.setattr(sandbox_argv, "_REPO_ROOT", checkout)
    code = f"import os\nprint(os.path.exists({str(checkout / '.env')!r}))\n"
    result = run_sandboxed([PY, "-c", code], isolation=isolation)
    assert result.ok, result.stderr
    assert result.stdout == "False\n"
    assert result.infrastructure is None


def test_weak_tier_is_said_loudly() -> None:
    weak = describe_isolation(SOCKET_GUARD, {BWRAP: "bwrap is not installed", UNSHARE: "needs root"})
    assert weak.weak and weak.isolation == SOCKET_GUARD
    assert weak.warning and "socket-guard" in weak.warning and "bwrap is not installed" in weak.warning
    fallback = describe_isolation(UNSHARE, {BWRAP: "bwrap: setting up uid map: Permission denied"})
    assert fallback.warning and "Permission denied" in fallback.warning
    best = describe_isolation(BWRAP, {})
    assert not best.weak and best.warning is None


# --- the interpreter, wherever it is installed (item 5) ---------------------------------


@pytest.fixture(scope="module")
def tmp_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv outside the checkout, in /tmp, as `pip install -e .` into any venv makes."""
    venv = tmp_path_factory.mktemp("venv") / "v"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    return venv


@namespaced
def test_interpreter_of_a_venv_in_tmp_runs_in_the_sandbox(isolation: str, tmp_venv: Path) -> None:
    python = str(tmp_venv / "bin" / "python")
    result = run_sandboxed([python, "-c", "import sys; print(sys.prefix)"], isolation=isolation)
    assert result.ok, result.stderr
    assert result.stdout.strip() == str(tmp_venv)


@pytest.mark.parametrize("isolation", HERE)
def test_missing_interpreter_is_an_infrastructure_failure(isolation: str) -> None:
    missing = f"/nonexistent-{uuid.uuid4().hex}/bin/python"
    result = run_sandboxed([missing, "-c", "pass"], isolation=isolation)
    assert not result.ok
    assert result.infrastructure and missing in result.infrastructure


@pytest.mark.parametrize(
    "code",
    [
        "import sys; sys.exit(127)",
        "import sys; print('prlimit: failed to execute x: No such file', file=sys.stderr); sys.exit(127)",
        "import sys; print('bwrap: Can not mount tmpfs', file=sys.stderr); sys.exit(1)",
    ],
)
def test_code_cannot_pass_itself_off_as_a_harness_failure(code: str) -> None:
    result = run_sandboxed([PY, "-c", code])
    assert not result.ok and result.infrastructure is None


def test_a_filter_the_kernel_refuses_stops_the_loader_before_the_command() -> None:
    """The unshare-net tier's loader: a bad filter is the sandbox's failure, said as such,
    and the command never runs."""
    from tools.sandbox.seccomp import loader_argv

    bogus = bytes(8)  # one instruction, "load nothing": the kernel rejects the program
    result = subprocess.run([*loader_argv(bogus), "echo", "ran"], capture_output=True, text=True, timeout=10)
    assert result.returncode != 0 and "ran" not in result.stdout
    assert "codecrew seccomp loader: Invalid argument" in result.stderr

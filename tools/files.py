"""Write extracted files safely: names a model proposed can never escape the output folder.

`safe_relative_path` turns a proposed name into a plain relative path or says why not;
`write_files` checks every target before writing any, refuses to follow symlinks out of
the folder, and writes each file atomically with the content's exact bytes.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from tools.extract import ExtractedFile


class UnsafePathError(ValueError):
    """A file name that is not a plain relative path inside the output folder."""

    error_class = "unsafe_path"  # tools.errors: the model proposed it, the run refused it


class OutputExistsError(FileExistsError):
    """A target file exists and overwriting was not asked for."""


@dataclass(frozen=True)
class WrittenFile:
    """A file on disk, as written."""

    name: str  # the relative name, "/"-separated
    path: Path  # out_dir / name
    bytes: int
    sha256: str


MAX_NAME_CHARS = 255  # one folder or file name, in UTF-8 bytes (the common file system limit)
MAX_PATH_CHARS = 1024
MAX_DEPTH = 16

_WINDOWS_RESERVED = {"con", "prn", "aux", "nul"} | {
    f"{kind}{n}" for kind in ("com", "lpt") for n in "123456789¹²³"
}
_WINDOWS_FORBIDDEN = set('<>:"|?*')
# Invisible characters that make a name read differently from what it is ("evil\u202eslm.js").
_INVISIBLE = {"\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2028", "\u2029", "\ufeff"} | {
    chr(code) for code in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]
}


def _unsafe(name: str, why: str) -> UnsafePathError:
    return UnsafePathError(f"unsafe file name {name!r}: {why}")


def safe_relative_path(name: str) -> PurePosixPath:
    """Check a proposed file name and return it as a relative path; raise UnsafePathError.

    Sub folders ("src/App.tsx") are fine; a leading "./" is dropped.
    """
    if not isinstance(name, str) or not name.strip():
        raise _unsafe(str(name), "it is empty")
    for char in name:
        if unicodedata.category(char) == "Cc" or char in _INVISIBLE:
            raise _unsafe(name, f"it contains the control character U+{ord(char):04X}")
    if "\\" in name:
        raise _unsafe(name, "it contains a backslash; use / between folders")
    if name.startswith("/"):
        raise _unsafe(name, "it is an absolute path")
    if re.match(r"^[A-Za-z]:", name):
        raise _unsafe(name, "it starts with a drive letter")
    if name.startswith("~"):
        raise _unsafe(name, "it starts with ~ (a home folder)")
    if len(name) > MAX_PATH_CHARS:
        raise _unsafe(name[:40] + "...", f"it is longer than {MAX_PATH_CHARS} characters")
    if name.endswith("/"):
        raise _unsafe(name, "it names a folder, not a file")
    parts = [part for part in name.split("/") if part != "."]
    if not parts:
        raise _unsafe(name, "it names the output folder itself")
    if len(parts) > MAX_DEPTH:
        raise _unsafe(name, f"it is nested more than {MAX_DEPTH} folders deep")
    for part in parts:
        _check_part(name, part)
    return PurePosixPath(*parts)


def _check_part(name: str, part: str) -> None:
    """One folder or file name inside a path."""
    if part == "":
        raise _unsafe(name, "it has an empty folder name (//)")
    if part == "..":
        raise _unsafe(name, "it climbs out of the output folder with ..")
    if part.lower() == ".git":
        raise _unsafe(name, "it writes into a .git folder")
    if len(part.encode("utf-8")) > MAX_NAME_CHARS:
        raise _unsafe(name, f"a part is longer than {MAX_NAME_CHARS} bytes")
    if part.endswith((".", " ")):
        raise _unsafe(name, f"{part!r} ends with a dot or a space")
    if part.startswith(" "):
        raise _unsafe(name, f"{part!r} starts with a space")
    forbidden = sorted(set(part) & _WINDOWS_FORBIDDEN)
    if forbidden:
        raise _unsafe(name, f"it contains {' '.join(forbidden)}, which Windows forbids in names")
    if part.split(".")[0].rstrip().lower() in _WINDOWS_RESERVED:
        raise _unsafe(name, f"{part.split('.')[0]} is a reserved device name on Windows")


def write_files(out_dir: Path, files: Sequence[ExtractedFile], *, force: bool = False) -> list[WrittenFile]:
    """Write `files` under `out_dir`; check everything first so a refusal writes nothing."""
    out_dir = Path(out_dir)
    plan = _plan(out_dir, files)
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir} exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    root = out_dir.resolve()
    for relative, _ in plan:
        _check_target(out_dir, root, relative, force=force)

    written = []
    for relative, data in plan:
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        _check_target(out_dir, root, relative, force=True)  # again: folders now exist
        _write_atomically(target, data)
        written.append(
            WrittenFile(
                name=relative.as_posix(),
                path=out_dir / relative,
                bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
        )
    return written


def _plan(out_dir: Path, files: Sequence[ExtractedFile]) -> list[tuple[PurePosixPath, bytes]]:
    """Validated names and encoded contents; no two files may share a name or clash."""
    plan: list[tuple[PurePosixPath, bytes]] = []
    seen: dict[str, str] = {}
    for file in files:
        relative = safe_relative_path(file.name)
        key = relative.as_posix().lower()  # App.js and app.js are one file on macOS and Windows
        if key in seen:
            raise _unsafe(file.name, f"it is the same file as {seen[key]!r}")
        seen[key] = file.name
        try:
            data = file.content.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _unsafe(file.name, f"its content is not valid text ({exc.reason})") from None
        plan.append((relative, data))
    for relative, _ in plan:
        for parent in relative.parents:
            if parent.as_posix().lower() in seen:
                raise _unsafe(str(relative), f"{parent} is also a file")
    return plan


def _check_target(out_dir: Path, root: Path, relative: PurePosixPath, *, force: bool) -> None:
    """The target must stay inside the folder even through symlinks, and be new unless forced."""
    shown = out_dir / relative
    current = root
    for part in relative.parts:
        current = current / part
        if current.is_symlink() and not _inside(current, root):
            raise _unsafe(
                str(relative), f"{out_dir / current.relative_to(root)} is a symlink out of {out_dir}"
            )
    final = root / relative
    if not _inside(final, root):
        raise _unsafe(str(relative), f"{shown} resolves outside {out_dir}")
    for parent in list(relative.parents)[:-1]:
        folder = root / parent
        if folder.exists() and not folder.is_dir():
            raise OutputExistsError(f"{out_dir / parent} exists and is not a folder")
    if final.is_dir():
        raise OutputExistsError(f"{shown} exists and is a folder")
    if (final.exists() or final.is_symlink()) and not force:
        raise OutputExistsError(f"{shown} exists: pass --force to overwrite")


def _inside(path: Path, root: Path) -> bool:
    """Does `path`, with every symlink followed, stay under `root`?"""
    try:
        return path.resolve().is_relative_to(root)
    except (OSError, RuntimeError):  # a symlink loop
        return False


def _write_atomically(target: Path, data: bytes) -> None:
    """Write to a temp file beside the target, then rename it over: never half a file.

    Bytes, not text mode: the content's own line endings (CRLF too) reach the disk as they are.
    A symlink at the target is replaced by the file, never followed.
    """
    handle, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes it private; these are ordinary source files
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise

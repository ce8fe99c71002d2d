"""Safe names and safe writes: every refusal, and the bytes that reach the disk."""

import hashlib
from pathlib import Path, PurePosixPath

import pytest

from tools.extract import ExtractedFile
from tools.files import OutputExistsError, UnsafePathError, WrittenFile, safe_relative_path, write_files


def file(name: str, content: str = "x\n") -> ExtractedFile:
    return ExtractedFile(name=name, language=None, content=content, block_index=0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("index.html", "index.html"),
        ("src/App.tsx", "src/App.tsx"),
        ("./style.css", "style.css"),
        ("src/./main.py", "src/main.py"),
        ("assets/img/logo.svg", "assets/img/logo.svg"),
        (".env.example", ".env.example"),
        ("Dockerfile", "Dockerfile"),
        ("données/été.txt", "données/été.txt"),
        ("console.js", "console.js"),  # "con" is reserved, "console" is not
    ],
)
def test_safe_names(name: str, expected: str) -> None:
    assert safe_relative_path(name) == PurePosixPath(expected)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("/etc/passwd", "it is an absolute path"),
        ("../outside.js", "it climbs out of the output folder with .."),
        ("src/../../outside.js", "it climbs out of the output folder with .."),
        ("C:/Windows/win.ini", "it starts with a drive letter"),
        ("c:game.js", "it starts with a drive letter"),
        ("..\\..\\outside.js", "it contains a backslash; use / between folders"),
        ("src\\App.tsx", "it contains a backslash; use / between folders"),
        ("game\x00.js", "it contains the control character U+0000"),
        ("game\n.js", "it contains the control character U+000A"),
        ("evil\u202eslm.js", "it contains the control character U+202E"),
        ("CON", "CON is a reserved device name on Windows"),
        ("nul.txt", "nul is a reserved device name on Windows"),
        ("src/com1.js", "com1 is a reserved device name on Windows"),
        ("LPT9.html", "LPT9 is a reserved device name on Windows"),
        ("index.html.", "'index.html.' ends with a dot or a space"),
        ("index.html ", "'index.html ' ends with a dot or a space"),
        ("src./a.js", "'src.' ends with a dot or a space"),
        (" index.html", "' index.html' starts with a space"),
        ("a" * 256 + ".js", "a part is longer than 255 bytes"),
        ("é" * 128 + ".js", "a part is longer than 255 bytes"),
        ("a/" * 600 + "a.js", "it is longer than 1024 characters"),
        ("a/" * 17 + "a.js", "it is nested more than 16 folders deep"),
        ("src//a.js", "it has an empty folder name (//)"),
        ("src/", "it names a folder, not a file"),
        (".", "it names the output folder itself"),
        ("~/.bashrc", "it starts with ~ (a home folder)"),
        ("game.js:stream", "it contains :, which Windows forbids in names"),
        ("what?.js", "it contains ?, which Windows forbids in names"),
        ("<script>.js", "it contains < >, which Windows forbids in names"),
        (".git/hooks/pre-commit", "it writes into a .git folder"),
        ("sub/.GIT/config", "it writes into a .git folder"),
    ],
)
def test_unsafe_names(name: str, why: str) -> None:
    with pytest.raises(UnsafePathError) as raised:
        safe_relative_path(name)
    message = str(raised.value)
    assert message.endswith(why)
    assert message.startswith("unsafe file name ")
    assert "\n" not in message


def test_writes_exact_bytes_and_reports_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    content = "<!DOCTYPE html>\r\n<p>é</p>\r\n"  # CRLF and non-ASCII survive as they are
    written = write_files(out, [file("index.html", content), file("src/app.js", "let a = 1;")])
    data = content.encode("utf-8")
    assert written == [
        WrittenFile("index.html", out / "index.html", len(data), hashlib.sha256(data).hexdigest()),
        WrittenFile("src/app.js", out / "src/app.js", 10, hashlib.sha256(b"let a = 1;").hexdigest()),
    ]
    assert (out / "index.html").read_bytes() == data
    assert (out / "src" / "app.js").read_bytes() == b"let a = 1;"
    assert sorted(p.name for p in out.rglob("*")) == ["app.js", "index.html", "src"]  # no temp files left
    assert (out / "index.html").stat().st_mode & 0o777 == 0o644


def test_refuses_existing_files_before_writing_anything(tmp_path: Path) -> None:
    (tmp_path / "b.js").write_text("old")
    with pytest.raises(OutputExistsError, match=r"b\.js exists: pass --force to overwrite$"):
        write_files(tmp_path, [file("a.js"), file("b.js")])
    assert not (tmp_path / "a.js").exists()
    assert (tmp_path / "b.js").read_text() == "old"


def test_force_overwrites(tmp_path: Path) -> None:
    (tmp_path / "a.js").write_text("old")
    write_files(tmp_path, [file("a.js", "new")], force=True)
    assert (tmp_path / "a.js").read_text() == "new"


def test_message_names_the_out_folder_as_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    Path("out").mkdir()
    Path("out/index.html").write_text("old")
    with pytest.raises(OutputExistsError) as raised:
        write_files(Path("out"), [file("index.html")])
    assert str(raised.value) == "out/index.html exists: pass --force to overwrite"


def test_a_folder_in_the_way_is_refused_even_with_force(tmp_path: Path) -> None:
    (tmp_path / "index.html").mkdir()
    with pytest.raises(OutputExistsError, match="exists and is a folder"):
        write_files(tmp_path, [file("index.html")], force=True)
    (tmp_path / "src").write_text("a file")
    with pytest.raises(OutputExistsError, match="src exists and is not a folder"):
        write_files(tmp_path, [file("src/a.js")], force=True)


def test_out_dir_that_is_a_file(tmp_path: Path) -> None:
    (tmp_path / "out").write_text("")
    with pytest.raises(OutputExistsError, match="is not a folder"):
        write_files(tmp_path / "out", [file("a.js")])


def test_duplicate_names_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="it is the same file as 'app.js'"):
        write_files(tmp_path, [file("app.js"), file("./App.js")])
    with pytest.raises(UnsafePathError, match="src is also a file"):
        write_files(tmp_path, [file("src"), file("src/a.js")])
    assert list(tmp_path.iterdir()) == []


def test_an_unsafe_name_stops_every_write(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="climbs out"):
        write_files(tmp_path / "out", [file("ok.js"), file("../evil.js")])
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "evil.js").exists()


def test_symlinked_folder_out_of_the_folder_is_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "src").symlink_to(outside)
    with pytest.raises(UnsafePathError, match=r"src is a symlink out of"):
        write_files(out, [file("src/app.js")], force=True)
    assert list(outside.iterdir()) == []


def test_symlinked_file_out_of_the_folder_is_not_followed(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("keep me")
    out = tmp_path / "out"
    out.mkdir()
    (out / "index.html").symlink_to(secret)
    with pytest.raises(UnsafePathError, match="symlink out of"):
        write_files(out, [file("index.html")], force=True)
    (out / "dangling.js").symlink_to(tmp_path / "nowhere.js")
    with pytest.raises(UnsafePathError, match="symlink out of"):
        write_files(out, [file("dangling.js")], force=True)
    assert secret.read_text() == "keep me"
    assert not (tmp_path / "nowhere.js").exists()


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    with pytest.raises((UnsafePathError, OutputExistsError)):
        write_files(tmp_path, [file("loop/a.js")], force=True)


def test_symlink_inside_the_folder_is_replaced_not_followed(tmp_path: Path) -> None:
    (tmp_path / "real.js").write_text("real")
    (tmp_path / "link.js").symlink_to(tmp_path / "real.js")
    with pytest.raises(OutputExistsError):
        write_files(tmp_path, [file("link.js", "new")])
    write_files(tmp_path, [file("link.js", "new")], force=True)
    assert not (tmp_path / "link.js").is_symlink()
    assert (tmp_path / "link.js").read_text() == "new"
    assert (tmp_path / "real.js").read_text() == "real"


def test_folder_symlink_inside_the_folder_is_allowed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    write_files(tmp_path, [file("alias/a.js", "a")])
    assert (tmp_path / "real" / "a.js").read_text() == "a"


def test_content_that_is_not_text(tmp_path: Path) -> None:
    with pytest.raises(UnsafePathError, match="its content is not valid text"):
        write_files(tmp_path, [file("a.js", "bad \udc80 surrogate")])
    assert list(tmp_path.iterdir()) == []


def test_no_files_creates_the_folder_only(tmp_path: Path) -> None:
    assert write_files(tmp_path / "new", []) == []
    assert (tmp_path / "new").is_dir()

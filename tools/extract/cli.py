"""The command line: `python -m tools.extract answer.txt --out out/ [--force]`.

`make_app()` builds the typer app on demand: typer takes longer to import than everything
else here, and the pipeline imports the extractor without its CLI.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from tools.extract.layout import extract_files
from tools.extract.records import NoCodeError


def _fail(message: str, code: int = 1) -> SystemExit:
    """One line on stderr, no traceback."""
    print(f"error: {message}", file=sys.stderr)
    return SystemExit(code)


def _read_answer(source: str) -> str:
    if source == "-":
        data = sys.stdin.buffer.read()
    else:
        path = Path(source)
        if not path.is_file():
            raise _fail(f"{source}: no such file", 2)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise _fail(f"{source}: cannot read it ({exc.strerror})", 2) from None
    try:
        return data.decode("utf-8-sig")  # bytes, not text mode: CRLF stays CRLF
    except UnicodeDecodeError:
        raise _fail(f"{source}: not UTF-8 text", 2) from None


def run_cli(response_file: str, out: Path, force: bool = False) -> None:
    """Extract the code files from a model's answer and write them into --out.

    Exit codes: 0 written, 1 no usable code in the answer (none, or an unsafe file name),
    2 bad input (no such file, not UTF-8, files already there without --force).
    """
    from tools.files import OutputExistsError, UnsafePathError, write_files
    from tools.lazy import lazy_verdict

    answer = _read_answer(response_file)
    try:
        extraction = extract_files(answer)
        written = write_files(out, extraction.files, force=force)
    except OutputExistsError as exc:  # bad input: the user decides with --force
        raise _fail(str(exc), 2) from None
    except (NoCodeError, UnsafePathError) as exc:  # the answer failed, as in agents.run
        raise _fail(str(exc)) from None
    except OSError as exc:
        raise _fail(f"{exc.filename or out}: {exc.strerror}") from None
    for file in written:
        print(f"{file.name}  {file.bytes} bytes")
    warnings = []
    if extraction.ambiguous:
        warnings.append(f"ambiguous layout, guessed: {extraction.reason}")
    used = {file.block_index for file in extraction.files}
    warnings += [
        f"block {block.index} was cut off before its end"
        for block in extraction.blocks
        if block.truncated and block.index in used
    ]
    verdict = lazy_verdict(extraction.files)
    if verdict.lazy:
        warnings.append(verdict.reason())
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def make_app() -> Any:
    import typer

    cli = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

    @cli.command(help=run_cli.__doc__)
    def main(
        response_file: str = typer.Argument(..., help="the model's answer; - reads stdin"),
        out: Path = typer.Option(..., "--out", "-o", help="folder to write the files into"),
        force: bool = typer.Option(False, "--force", help="overwrite existing files"),
    ) -> None:
        run_cli(response_file, out, force)

    return cli

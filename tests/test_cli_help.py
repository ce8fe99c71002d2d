"""--help reads well: typer keeps a paragraph's line breaks, so docstrings are unwrapped first."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tools.formatting import cli_help

DOC = """The first line.

    python -m thing --one        # an example
    python -m thing --two

A prose paragraph wrapped
in the source, over
three lines.

- a list item
- another

0    an exit code
130  another
"""


def test_prose_is_unwrapped_and_examples_and_lists_keep_their_lines() -> None:
    assert cli_help(DOC).split("\n\n") == [
        "The first line.",
        "python -m thing --one        # an example\npython -m thing --two",
        "A prose paragraph wrapped in the source, over three lines.",
        "- a list item\n- another",
        "0    an exit code\n130  another",
    ]
    assert cli_help(None) == ""


@pytest.mark.parametrize(
    ("module", "args", "paragraph"),
    [
        ("agents.cli", ["--help"], "a code extractor, run what was written"),
        ("agents.models.cli", ["--help"], "then the pipeline runs per generator model"),
        ("evals.run", ["--help"], "the whole pipeline with that model as the generator"),
        ("evals.worker", ["--help"], "the process that started a run"),
    ],
)
def test_no_help_breaks_a_sentence_where_the_source_did(module: str, args: list[str], paragraph: str) -> None:
    import importlib

    app = importlib.import_module(module).app
    result = CliRunner().invoke(app, args, terminal_width=200, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    # on one line: the docstring breaks its source line inside each of these phrases
    assert any(paragraph in line for line in result.output.splitlines()), result.output

"""SEARCH/REPLACE edits: applied exactly, or rejected with nothing changed."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tools.edits import Edit, EditError, apply_edits, diff_edits, format_edits, parse_edits

LINE = st.text(alphabet="ab {}();=\t", max_size=6).map(lambda s: s + "\n")
TEXT = st.lists(LINE, max_size=12).map("".join)


@settings(max_examples=300, deadline=None)
@given(old=TEXT, new=TEXT)
def test_edits_from_a_real_diff_reproduce_the_target(old: str, new: str) -> None:
    edits = diff_edits(old, new, "main.py")
    if old == new:
        assert edits == []
    else:
        assert apply_edits({"main.py": old}, edits)["main.py"] == new


@settings(max_examples=200, deadline=None)
@given(old=TEXT, new=TEXT)
def test_edits_survive_being_written_and_parsed(old: str, new: str) -> None:
    edits = diff_edits(old, new, "main.py")
    if not edits:
        return
    parsed = parse_edits("Here is the fix.\n\n" + format_edits(edits))
    assert apply_edits({"main.py": old}, parsed)["main.py"] == new


@settings(max_examples=200, deadline=None)
@given(text=TEXT, good=TEXT, missing=LINE)
def test_a_block_that_does_not_match_is_rejected_and_nothing_is_applied(
    text: str, good: str, missing: str
) -> None:
    files = {"main.py": text}
    absent = "zz" + missing  # no line of TEXT starts with z
    edits = [*diff_edits(text, good, "main.py"), Edit("main.py", absent, "x\n")]
    with pytest.raises(EditError, match="not found"):
        apply_edits(files, edits)
    assert files == {"main.py": text}


def test_trailing_white_space_is_tolerated_on_whole_lines() -> None:
    files = {"main.py": "def f():  \n    return 1\nprint(f())\n"}
    [edit] = parse_edits(
        "main.py\n```python\n<<<<<<< SEARCH\ndef f():\n    return 1\n=======\ndef f():\n    return 2\n>>>>>>> REPLACE\n```"
    )
    assert apply_edits(files, [edit])["main.py"] == "def f():\n    return 2\nprint(f())\n"


def test_an_ambiguous_block_is_rejected() -> None:
    with pytest.raises(EditError, match="occur 2 times"):
        apply_edits({"a.py": "x = 1\nx = 1\n"}, [Edit("a.py", "x = 1\n", "x = 2\n")])


def test_blocks_name_their_files_and_a_single_file_needs_no_name() -> None:
    answer = "### a.py\n```\n<<<<<<< SEARCH\n1\n=======\n2\n>>>>>>> REPLACE\n```\n### b.py\n```\n<<<<<<< SEARCH\n3\n=======\n4\n>>>>>>> REPLACE\n```\n"
    assert apply_edits({"a.py": "1\n", "b.py": "3\n"}, parse_edits(answer)) == {"a.py": "2\n", "b.py": "4\n"}
    assert apply_edits({"only.py": "1\n"}, [Edit(None, "1\n", "9\n")]) == {"only.py": "9\n"}
    with pytest.raises(EditError, match="does not say which file"):
        apply_edits({"a.py": "1\n", "b.py": "1\n"}, [Edit(None, "1\n", "9\n")])


def test_an_open_block_is_an_error() -> None:
    with pytest.raises(EditError, match="not closed"):
        parse_edits("<<<<<<< SEARCH\nx = 1\n")
    with pytest.raises(EditError, match="no edit blocks"):
        apply_edits({"a.py": "x"}, [])

"""tools.formatting: the one place text is shaped for people."""

from tools.formatting import bounded


def test_bounded_cuts_at_the_limit_and_marks_the_cut() -> None:
    assert bounded("abcdef", 6) == "abcdef"
    assert bounded("abcdefg", 6) == "abcde…"
    assert len(bounded("x" * 500, 160)) == 160
    assert bounded("abc", 0) == "…"  # never a negative slice

"""Issue 11, item 10: the pure functions that read model output, fuzzed with hypothesis
(bounded here; `python -m bench.fuzz` runs the counted, longer fuzz), and the adversarial
inputs that were super-linear once, timed at 20 kB and 200 kB."""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings

from bench.fuzz import (
    ADVERSARIAL,
    answers,
    check_extract,
    check_lazy,
    check_name,
    check_sanitizer,
    check_write,
    growth,
    names,
)

bounded = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@bounded
@given(answers)
def test_extract_files_holds_for_any_answer(answer: str) -> None:
    check_extract(answer)


@bounded
@given(answers)
def test_lazy_detector_holds_for_any_answer(answer: str) -> None:
    check_lazy(answer)


@bounded
@given(answers)
def test_humaneval_sanitizer_holds_for_any_answer(answer: str) -> None:
    check_sanitizer(answer)


@settings(max_examples=400, deadline=None)
@given(names)
def test_file_names_never_escape(name: str) -> None:
    check_name(name)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=names)
def test_written_files_stay_in_the_folder(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "f"
    folder.mkdir(exist_ok=True)
    check_write(folder, name)


@contextmanager
def at_most(seconds: int) -> Iterator[None]:
    """Fail instead of hanging on an input that is quadratic (minutes at 200 kB)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_adversarial_input_takes_linear_time(name: str) -> None:
    function: Callable[[str], object]
    function, make = ADVERSARIAL[name]
    with at_most(20):
        small, large = growth(function, make)
    # Ten times the input: ten times the time, with room for a busy 2-core machine. A
    # quadratic function takes about a hundred times as long.
    assert large <= 30 * max(small, 0.005), f"{small * 1000:.1f} ms -> {large * 1000:.1f} ms"

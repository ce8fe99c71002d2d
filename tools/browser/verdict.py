"""The verdict: a finished page run (or a run that never started) as a PageReport."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tools.browser.records import MAX_ERRORS, PageCheck, PageReport, counted_lines

if TYPE_CHECKING:
    from tools.browser.run import PageRun


def page_report(run: PageRun, duration: float) -> PageReport:
    why_not = run.stopped or "not reached"
    if run.unresponsive:
        loads = (False, run.unresponsive if run.loaded else f"{run.load_detail}; {run.unresponsive}")
    elif run.error_count:
        s = "s" if run.error_count > 1 else ""
        first = next(iter(run.errors))
        loads = (False, f"{run.error_count} uncaught error{s}; first: {first}")
    elif not run.loaded:
        loads = (False, run.load_detail)
    else:
        loads = (True, f"{run.load_detail}, no uncaught errors")
    if run.drawn:
        draws = (True, run.drawn)
    elif run.first is None:
        draws = (False, why_not)
    else:
        draws = (False, run.blank)
    keys = run.keys or (False, why_not)
    advances = run.advances or (False, why_not)
    if run.stopped and run.advances and not run.advances[0]:
        advances = (False, f"{run.advances[1]}; then {run.stopped}")
    return PageReport(
        checks=[
            PageCheck("loads", *loads),
            PageCheck("draws", *draws),
            PageCheck("responds_to_keys", *keys),
            PageCheck("advances", *advances),
        ],
        js_errors=_error_lines(run),
        blocked_requests=list(run.blocked),
        screenshot=run.screenshot,
        duration=round(duration, 3),
        dialogs=counted_lines(run.dialogs.items()),
        error_count=run.error_count,
        error_places=list(run.error_places),
    )


def _error_lines(run: PageRun) -> list[str]:
    lines = counted_lines([*run.errors.items(), *run.console_errors.items()][:MAX_ERRORS])
    if run.suppressed:
        lines.append(f"... and {run.suppressed} more uncaught errors in timer callbacks")
    return lines


def failed_report(why: str, duration: float) -> PageReport:
    names = ("loads", "draws", "responds_to_keys", "advances")
    return PageReport(
        checks=[PageCheck(name, False, why) for name in names],
        js_errors=[],
        blocked_requests=[],
        screenshot=None,
        duration=round(duration, 3),
    )

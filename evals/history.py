"""An eval run in the history database (tools.history): its cases, and the model calls
they made, so the catalog counts eval work too.
"""

from __future__ import annotations

from datetime import datetime

from evals.report import RunReport


def record_history(run: RunReport) -> None:
    """One eval row per case, and the generator-mode work as calls (source "eval") for the
    catalog; a pipeline case's calls are recorded by run_pipeline as it runs."""
    from tools.history import CallRecord, EvalRecord, History

    history = History()
    history.forget_eval_run(run.run_id)  # a resumed run records its whole report again
    for r in run.cases:
        started = datetime.fromisoformat(r.started)
        history.record_eval(
            EvalRecord(
                run_id=run.run_id,
                suite=r.suite,
                model=r.model,
                mode=r.mode,
                case=r.case,
                passed=r.passed,
                reason=r.reason,
                duration=r.duration,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                cost=r.cost,
                lazy=r.lazy,
                error_class=r.error_class,
                started=started,
                sample=r.sample,
            )
        )
        if r.mode == "pipeline":
            continue  # run_pipeline recorded its calls and its run's verdict itself (source "eval")
        if r.skipped or (r.requests == 0 and r.error_class is None):
            continue  # nothing was asked of the model
        # the harness failing (infrastructure) says nothing about the model's answer
        bad = r.error_class and r.error_class not in ("lazy_output", "infrastructure")
        outcome = "error" if bad else "lazy" if r.lazy else "ok"
        history.record_call(
            CallRecord(
                model=r.model,
                role="generator",
                task_type=r.suite,
                started=started,
                duration=r.duration,
                requests=r.requests,
                input_tokens=r.input_tokens,
                output_tokens=r.output_tokens,
                cost=r.cost,
                outcome=outcome,
                error_class=r.error_class,
                run_id=run.run_id,
                source="eval",
            )
        )

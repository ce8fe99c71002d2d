"""The dashboard: `python -m evals.serve` serves metrics, comparisons and benchmark runs
over the history and the eval reports (evals.serve.app), on 127.0.0.1 unless told otherwise."""

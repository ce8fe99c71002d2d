"""Spot lazy code: placeholders where a model left code out instead of writing it.

Models that tire of a long file write `// ... rest of the code`, `/* remaining styles */`,
`# TODO: implement` or a bare `...` body and call the answer complete. This package finds
those lines so the generator can be told exactly what to rewrite.

Only comments and bare `...` lines are judged, never strings or code, so `[...board]`,
`const rest = ...`, "REST API" or a normal `// TODO: handle wrap-around` are not flagged.

The package, one job per module: `records` (Placeholder, LazyVerdict), `scanner` (comments
and code per line, strings skipped), `rules` (the placeholder phrases and how sure each is),
`context` (an unsure comment judged by what surrounds it), `python_stubs` (where `...` or a
docstring-only body is meant) and `finder` (`find_placeholders`, `lazy_verdict`).
"""

from __future__ import annotations

from tools.lazy.finder import find_placeholders, lazy_verdict
from tools.lazy.records import LazyVerdict, Placeholder

__all__ = ["LazyVerdict", "Placeholder", "find_placeholders", "lazy_verdict"]

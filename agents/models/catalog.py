"""The model catalog: what we know about each model.

A `ModelCard` merges three sources, each for what it is good at:
- `models.yaml` (next to this module): tier, task types, strengths, published figures, and prices
  that only fill gaps;
- genai-prices (the price table pydantic-ai uses for `RunUsage.cost`): prices and context
  window, preferred whenever it knows the model;
- the history (tools/history.py): what codecrew measured (success rate, latency, cost per
  call, eval pass rates).

The comparison of two models (`recommend()`) is in agents/models/compare.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from agents.config import history_path
from tools.formatting import fmt_context, fmt_cost, fmt_pct, fmt_price, fmt_seconds, fmt_tps
from tools.history import WORK_SOURCES, History, ModelStats, ProbeRecord

CATALOG_PATH = Path(__file__).resolve().parent / "models.yaml"
TIERS = ("premium", "workhorse", "budget", "specialized", "local")
TASK_TYPES = (
    "architecture",
    "code_generation",
    "refactoring",
    "testing",
    "code_review",
    "documentation",
    "debugging",
    "optimization",
    "boilerplate",
    "research",
)
LOCAL_PROVIDERS = ("local", "ollama")
# pydantic-ai model-string prefix -> genai-prices provider id.
GENAI_PROVIDERS = {
    "anthropic": "anthropic",
    "openai": "openai",
    "openai-chat": "openai",
    "openai-responses": "openai",
    "azure": "azure",
    "google": "google",
    "google-gla": "google",
    "google-vertex": "google",
    "gemini": "google",
    "openrouter": "openrouter",
    "deepseek": "deepseek",
    "cerebras": "cerebras",
    "groq": "groq",
    "mistral": "mistral",
    "cohere": "cohere",
    "fireworks": "fireworks",
    "together": "together",
    "grok": "x-ai",
    "xai": "x-ai",
    "moonshotai": "moonshotai",
    "bedrock": "aws",
}


class CatalogError(ValueError):
    """models.yaml is malformed; the message names the model and the field."""

    error_class = "config"


@dataclass
class ModelCard:
    """Everything codecrew knows about one model.

    Prices are USD per million tokens. `price_source` says where they came from:
    "genai-prices", "catalog" (models.yaml), "local" (ollama:/local:, zero), "free"
    (an OpenRouter `:free` model, zero) or "unknown" (no prices anywhere).
    """

    model: str
    provider: str
    context_window: int | None
    input_price: float | None
    output_price: float | None
    cached_price: float | None
    price_source: str
    tier: str
    task_types: list[str]
    strengths: str
    published: dict[str, float]
    measured: ModelStats | None = None
    pass_rates: dict[str, float] = field(default_factory=dict)
    in_catalog: bool = True
    probe: ProbeRecord | None = None  # the last `discover --probe` of this model

    @property
    def known(self) -> bool:
        """Whether anything is known about the model: catalog, prices, calls, evals or a probe."""
        return bool(
            self.in_catalog
            or self.price_source != "unknown"
            or self.measured
            or self.pass_rates
            or self.probe
        )


@dataclass
class GenaiInfo:
    """What genai-prices knows about a model."""

    input_price: float | None
    output_price: float | None
    cached_price: float | None
    context_window: int | None


def split_model(model: str) -> tuple[str, str]:
    """("anthropic", "claude-sonnet-4-5") from "anthropic:claude-sonnet-4-5"."""
    prefix, sep, name = model.partition(":")
    return (prefix, name) if sep else ("", model)


def _per_mtok(value: Any) -> float | None:
    if value is None:
        return None
    base = getattr(value, "base", value)  # TieredPrices: the price below the first tier
    return float(base) if isinstance(base, Decimal | int | float) else None


def genai_info(model: str) -> GenaiInfo | None:
    """Prices and context window from genai-prices, or None when it does not know the model."""
    from genai_prices import data_snapshot

    prefix, name = split_model(model)
    if prefix in LOCAL_PROVIDERS or not name:
        return None
    provider_id = GENAI_PROVIDERS.get(prefix)
    try:
        snapshot = data_snapshot.get_snapshot()
        _, info = snapshot.find_provider_model(name, None, provider_id, None)
        prices = info.get_prices(datetime.now(UTC))
    except LookupError:
        return None
    return GenaiInfo(
        input_price=_per_mtok(getattr(prices, "input_mtok", None)),
        output_price=_per_mtok(getattr(prices, "output_mtok", None)),
        cached_price=_per_mtok(getattr(prices, "cache_read_mtok", None)),
        context_window=info.context_window,
    )


def _float_or_none(entry: dict[str, Any], key: str, model: str) -> float | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CatalogError(f"models.yaml: {model}: {key} must be a number, not {value!r}")
    return float(value)


def _card_from_entry(model: str, entry: Any) -> ModelCard:
    """A card from one models.yaml entry (catalog prices; genai-prices merged later)."""
    if not isinstance(entry, dict):
        raise CatalogError(f"models.yaml: {model}: expected a mapping of fields")
    prefix, _ = split_model(model)
    tier = entry.get("tier")
    if tier not in TIERS:
        raise CatalogError(f"models.yaml: {model}: tier {tier!r} is not one of {', '.join(TIERS)}")
    task_types = list(entry.get("task_types") or [])
    if unknown := sorted(set(task_types) - set(TASK_TYPES)):
        raise CatalogError(f"models.yaml: {model}: unknown task types {', '.join(unknown)}")
    published = entry.get("published") or {}
    if not isinstance(published, dict):
        raise CatalogError(f"models.yaml: {model}: published must be a mapping")
    context = entry.get("context_window")
    if context is not None and not isinstance(context, int):
        raise CatalogError(f"models.yaml: {model}: context_window must be an integer")
    return ModelCard(
        model=model,
        provider=str(entry.get("provider") or prefix),
        context_window=context,
        input_price=_float_or_none(entry, "input_price", model),
        output_price=_float_or_none(entry, "output_price", model),
        cached_price=_float_or_none(entry, "cached_price", model),
        price_source="catalog",
        tier=tier,
        task_types=task_types,
        strengths=str(entry.get("strengths") or ""),
        published={str(k): float(v) for k, v in published.items()},
    )


def _unknown_card(model: str) -> ModelCard:
    prefix, _ = split_model(model)
    return ModelCard(
        model=model,
        provider=prefix or "unknown",
        context_window=None,
        input_price=None,
        output_price=None,
        cached_price=None,
        price_source="unknown",
        tier="local" if prefix in LOCAL_PROVIDERS else "unknown",
        task_types=[],
        strengths="",
        published={},
        in_catalog=False,
    )


def _with_prices(card: ModelCard) -> ModelCard:
    """Fill in prices: zero for local models, genai-prices when it knows, else the catalog."""
    prefix, name = split_model(card.model)
    if prefix in LOCAL_PROVIDERS:
        card.input_price = card.output_price = card.cached_price = 0.0
        card.price_source = "local"
    elif info := genai_info(card.model):
        card.input_price, card.output_price = info.input_price, info.output_price
        card.cached_price = info.cached_price
        card.context_window = info.context_window or card.context_window
        card.price_source = "genai-prices"
    elif prefix == "openrouter" and name.endswith(":free"):
        card.input_price = card.output_price = card.cached_price = 0.0
        card.price_source = "free"
    return card


def read_catalog_file(path: Path | None = None) -> dict[str, ModelCard]:
    """models.yaml as cards, without genai-prices or the history."""
    import yaml

    path = path or CATALOG_PATH
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise CatalogError(f"{path} is not valid YAML: {exc}") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise CatalogError(f"{path}: expected a top-level `models:` mapping")
    return {str(model): _card_from_entry(str(model), entry) for model, entry in models.items()}


def _default_history() -> History | None:
    """The user's history if it exists (reading the catalog never creates one)."""
    return History() if history_path().exists() else None


def _with_measurements(card: ModelCard, history: History, stats: dict[str, ModelStats]) -> None:
    card.measured = stats.get(card.model)
    card.pass_rates = history.eval_pass_rates(card.model)


def load_catalog(path: Path | None = None, *, history: History | None = None) -> dict[str, ModelCard]:
    """Every known model's card: models.yaml + genai-prices + measured figures.

    Models the history has measured but models.yaml lacks get a card too. `history`
    defaults to the user's history when it exists.
    """
    cards = {model: _with_prices(card) for model, card in read_catalog_file(path).items()}
    history = history or _default_history()
    if history is not None:
        stats = {s.model: s for s in history.model_stats(sources=WORK_SOURCES)}
        for model in stats.keys() - cards.keys():
            cards[model] = _with_prices(_unknown_card(model))
        for card in cards.values():
            _with_measurements(card, history, stats)
    return cards


def model_card(model: str, history: History | None = None, *, path: Path | None = None) -> ModelCard:
    """One model's card; models missing from models.yaml still get one."""
    catalog = read_catalog_file(path)
    card = _with_prices(catalog.get(model) or _unknown_card(model))
    history = history or _default_history()
    if history is not None:
        stats = {s.model: s for s in history.model_stats(model=model, sources=WORK_SOURCES)}
        _with_measurements(card, history, stats)
        card.probe = next(iter(history.latest_probes(model)), None)
    return card


# -- rendering (rich) --------------------------------------------------------------------


def _fmt_rates(rates: dict[str, float]) -> str:
    return " ".join(f"{suite} {fmt_pct(rate)}" for suite, rate in sorted(rates.items())) or "-"


def catalog_table(cards: list[ModelCard]) -> Any:
    """The catalog as a rich Table."""
    from rich.table import Table

    table = Table(title="codecrew model catalog ($ per million tokens)")
    for column in ("model", "tier", "provider", "context", "$/M in", "$/M out", "source"):
        table.add_column(column, no_wrap=column == "model")
    for column in ("success", "median s", "pass rates"):
        table.add_column(column)
    for card in cards:
        m = card.measured
        table.add_row(
            card.model,
            card.tier,
            card.provider,
            fmt_context(card.context_window),
            fmt_price(card.input_price),
            fmt_price(card.output_price),
            card.price_source,
            f"{fmt_pct(m.success_rate)} of {m.calls}" if m else "-",
            f"{m.median_latency:.1f}" if m and m.median_latency is not None else "-",
            _fmt_rates(card.pass_rates),
        )
    return table


def card_text(card: ModelCard) -> str:
    """One card as plain lines (`models show`)."""
    lines = [
        card.model + ("" if card.in_catalog else "  (not in models.yaml)"),
        f"  provider        {card.provider}",
        f"  tier            {card.tier}",
        f"  context window  {fmt_context(card.context_window)}",
        f"  price $/M       in {fmt_price(card.input_price)}, out"
        f" {fmt_price(card.output_price)}, cached read {fmt_price(card.cached_price)}"
        f"  ({card.price_source})",
        f"  task types      {', '.join(card.task_types) or '-'}",
        f"  strengths       {card.strengths or '-'}",
        "  published       " + (", ".join(f"{k} {v:g}%" for k, v in card.published.items()) or "-"),
    ]
    m = card.measured
    if m is None:
        lines.append("  measured        no calls recorded")
    else:
        lines += [
            f"  measured        {m.calls} calls, success {fmt_pct(m.success_rate)},"
            f" median {fmt_seconds(m.median_latency)}, {fmt_tps(m.tokens_per_second)}",
            f"  cost            {fmt_cost(m.cost_per_call)} per call,"
            f" {fmt_cost(m.total_cost)} total; last error {m.last_error_class or '-'}",
        ]
    lines.append(f"  eval pass rates {_fmt_rates(card.pass_rates)}")
    lines.append(f"  last probe      {probe_text(card.probe)}")
    return "\n".join(lines)


def probe_text(probe: ProbeRecord | None) -> str:
    """The last probe in one line: reachable or not, latency, tool support, the error class."""
    if probe is None:
        return "never probed (codecrew models discover --probe)"
    when = f" ({probe.started:%Y-%m-%d %H:%M} UTC)" if probe.started else ""
    if not probe.reachable:
        return f"not reachable ({probe.error_class or 'unknown'}): {probe.detail}{when}"
    tools = {True: "calls tools", False: "no tool calls", None: "tool support unknown"}[probe.supports_tools]
    error = f", last error {probe.error_class}" if probe.error_class else ""
    return f"reachable, {fmt_seconds(probe.latency)}, {tools}{error}{when}"


# -- provider limits (durable eval runs) -----------------------------------------------------

# pydantic-ai prefixes that reach the same provider's quota
SAME_PROVIDER = {"openai-chat": "openai", "openai-responses": "openai", "google-gla": "google"}


@dataclass(frozen=True)
class ProviderLimit:
    """How hard one provider may be driven: `rate` cases started per `period` seconds, and
    `concurrency` cases at once, across every worker (None: no limit)."""

    rate: int | None = None
    period: float = 60.0
    concurrency: int | None = None


def limit_provider(model: str) -> str:
    """The provider whose limits a model string falls under ("openrouter-free" for `:free`)."""
    prefix, name = split_model(model.split(",")[0].strip())
    if prefix == "openrouter" and name.endswith(":free"):
        return "openrouter-free"
    return SAME_PROVIDER.get(prefix, prefix) or "default"


def parse_limit(provider: str, text: str) -> ProviderLimit:
    """`rate=20/60 concurrency=4` (either part optional) as a ProviderLimit."""
    fields: dict[str, str] = {}
    for part in text.replace(",", " ").split():
        key, sep, value = part.partition("=")
        if not sep or key not in ("rate", "concurrency"):
            raise CatalogError(
                f"limit of {provider}: expected rate=N/SECONDS and/or concurrency=N, not {part!r}"
            )
        fields[key] = value
    rate, period = None, 60.0
    try:
        if "rate" in fields:
            count, _, seconds = fields["rate"].partition("/")
            rate, period = int(count), float(seconds or 60)
            if rate < 1 or period <= 0:
                raise ValueError
        concurrency = int(fields["concurrency"]) if "concurrency" in fields else None
        if concurrency is not None and concurrency < 1:
            raise ValueError
    except ValueError:
        raise CatalogError(
            f"limit of {provider}: rate is N/SECONDS and concurrency N, both positive, not {text!r}"
        ) from None
    return ProviderLimit(rate=rate, period=period, concurrency=concurrency)


def parse_limits(text: str) -> dict[str, ProviderLimit]:
    """`openrouter-free: rate=20/60; openai: concurrency=8` as {provider: ProviderLimit}."""
    limits: dict[str, ProviderLimit] = {}
    for entry in filter(None, (e.strip() for e in text.split(";"))):
        provider, sep, spec = entry.partition(":")
        if not sep or not provider.strip():
            raise CatalogError(f"provider limit {entry!r}: write PROVIDER: rate=N/SECONDS concurrency=N")
        limits[provider.strip()] = parse_limit(provider.strip(), spec)
    return limits


def provider_limits(overrides: str = "", path: Path | None = None) -> dict[str, ProviderLimit]:
    """models.yaml's `providers:` limits, with `overrides` (parse_limits syntax) winning."""
    import yaml

    path = path or CATALOG_PATH
    data = yaml.safe_load(path.read_text()) or {}
    limits: dict[str, ProviderLimit] = {}
    for provider, entry in ((data.get("providers") or {}) if isinstance(data, dict) else {}).items():
        if not isinstance(entry, dict):
            raise CatalogError(f"models.yaml: providers: {provider}: expected rate and/or concurrency")
        spec = " ".join(f"{key}={value}" for key, value in entry.items())
        limits[str(provider)] = parse_limit(str(provider), spec)
    return {**limits, **parse_limits(overrides)}

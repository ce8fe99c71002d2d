"""Which models a provider really serves, and whether each one answers and calls tools.

Many "failing" models do not exist under the id one guesses, so ask the provider first:

- Ollama: `/api/tags` through the `ollama` client (host from `OLLAMA_HOST`, else
  `OLLAMA_BASE_URL` without `/v1`, else http://localhost:11434). A server that answers
  `/api/tags` with 404 (the embedded llama.cpp server) is asked `/v1/models` instead.
- Any OpenAI-compatible URL: `/api/tags` first, `/v1/models` on 404 (a URL ending in
  `/v1` goes straight to `/v1/models`).
- OpenRouter: `/api/v1/models` with prices, context length and `:free` models
  (`OPENROUTER_BASE_URL` overrides the base URL; `OPENROUTER_API_KEY` is optional here).

Model strings work as they are, with the variable `env` names set to `base_url`: Ollama
gives `ollama:<name>` (OLLAMA_BASE_URL), any other OpenAI-compatible server (llama.cpp,
vLLM...) `openai-chat:<name>` (OPENAI_BASE_URL), OpenRouter `openrouter:<id>`.

`probe()` (agents/models/probing.py) then sends each model a tiny chat request and a tiny
tool-call request.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from agents.config import api_key, ollama_host, openrouter_base_url
from tools.errors import ErrorClass, classify_http
from tools.formatting import fmt_context, fmt_price

# -- records -------------------------------------------------------------------------------


class DiscoveryError(Exception):
    """Listing failed; `str(exc)` is one line for the user."""

    def __init__(self, message: str, error_class: ErrorClass, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.retry_after = retry_after


@dataclass
class DiscoveredModel:
    """A model a provider serves; `model` is a pydantic-ai model string (see the package doc)."""

    model: str
    provider: str  # "ollama" | "openai-compatible" | "openrouter"
    base_url: str  # the OpenAI-compatible base URL (ends in /v1) the model is served at
    context_length: int | None
    input_price: float | None  # USD per million tokens
    output_price: float | None
    free: bool
    advertises_tools: bool | None = None  # what the provider claims; probe() checks

    @property
    def name(self) -> str:
        """The provider's own id for the model (the model string without its prefix)."""
        return self.model.partition(":")[2]

    @property
    def env(self) -> dict[str, str]:
        """The variable that points codecrew at this model's server, and its value."""
        variable = {"ollama": "OLLAMA_BASE_URL", "openai-compatible": "OPENAI_BASE_URL"}.get(self.provider)
        return {variable: self.base_url} if variable else {}


@dataclass
class ProbeResult:
    """What one probe saw. `reachable`: the model answered the chat request."""

    model: str
    reachable: bool
    latency: float | None
    supports_tools: bool | None  # None: not tested (chat failed) or the tool probe failed
    error_class: str | None
    detail: str
    retry_after: float | None = None
    base_url: str = ""


# -- GET a listing as JSON -----------------------------------------------------------------


LIST_TIMEOUT = 15.0


def _retry_after(headers: httpx.Headers | dict[str, str] | None) -> float | None:
    value = (headers or {}).get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _http_error(label: str, url: str, status: int, body: str, headers: Any = None) -> DiscoveryError:
    error_class = classify_http(status, body)
    if error_class is ErrorClass.rate_limited:
        retry = _retry_after(headers)
        wait = f", retry after {retry:g} s" if retry is not None else ""
        return DiscoveryError(f"{label} rate-limited the request to {url}{wait}", error_class, retry)
    snippet = " ".join(body.split())[:160]
    return DiscoveryError(f"{label} answered HTTP {status} for {url}: {snippet}", error_class)


async def _get_json(label: str, url: str, hint: str, *, headers: dict[str, str] | None = None) -> Any:
    """GET `url` as JSON, turning every failure into a one-line DiscoveryError."""
    try:
        async with httpx.AsyncClient(timeout=LIST_TIMEOUT, follow_redirects=True) as client:
            response = await client.get(url, headers=headers)
    except httpx.TimeoutException:
        raise DiscoveryError(
            f"{label} at {url} did not answer within {LIST_TIMEOUT:g} s", ErrorClass.timeout
        ) from None
    except httpx.HTTPError as exc:
        raise DiscoveryError(
            f"{label} is not reachable at {url}: {hint} ({type(exc).__name__})",
            ErrorClass.connection_refused,
        ) from None
    if response.status_code >= 400:
        raise _http_error(label, url, response.status_code, response.text, response.headers)
    try:
        return response.json()
    except ValueError:
        raise DiscoveryError(
            f"{label} at {url} answered with malformed JSON: {response.text[:80]!r}",
            ErrorClass.invalid_output,
        ) from None


def _malformed(label: str, url: str, what: str) -> DiscoveryError:
    return DiscoveryError(f"{label} at {url} answered with malformed JSON: {what}", ErrorClass.invalid_output)


# -- OpenAI-compatible servers: GET /v1/models ---------------------------------------------


async def _discover_openai_compatible(base_url: str, label: str) -> list[DiscoveredModel]:
    """`GET <base_url>/models` of an OpenAI-compatible server (llama.cpp, vLLM, Ollama...)."""
    url = f"{base_url}/models"
    data = await _get_json(label, url, "is the server running?")
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise _malformed(label, url, "no `data` list")
    models = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _malformed(label, url, f"model entry without an id: {str(item)[:60]}")
        context = item.get("context_length") or item.get("max_model_len")
        models.append(
            DiscoveredModel(
                model=f"openai-chat:{item['id']}",
                provider="openai-compatible",
                base_url=base_url,
                context_length=context if isinstance(context, int) else None,
                input_price=0.0,
                output_price=0.0,
                free=True,
            )
        )
    return models


# -- Ollama: /api/tags (+ /api/show), /v1/models on 404 ------------------------------------


SHOW_CONCURRENCY = 4


def _context_from_show(info: Any) -> int | None:
    for key, value in (info or {}).items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


async def _discover_ollama(host: str, label: str, hint: str) -> list[DiscoveredModel]:
    """Ollama's `/api/tags` (+ `/api/show` per model); `/v1/models` when /api/tags is 404."""
    import ollama

    client = ollama.AsyncClient(host=host, timeout=LIST_TIMEOUT)
    try:
        return await _list_ollama(client, host, label, hint)
    finally:
        await client.close()


async def _list_ollama(client: Any, host: str, label: str, hint: str) -> list[DiscoveredModel]:
    import ollama

    url = f"{host}/api/tags"
    try:
        listing = await client.list()
    except ollama.ResponseError as exc:
        if exc.status_code == 404:  # no Ollama routes: the embedded llama.cpp server, vLLM...
            return await _discover_openai_compatible(f"{host}/v1", label)
        raise _http_error(label, url, exc.status_code, exc.error) from None
    except ConnectionError:
        raise DiscoveryError(
            f"{label} is not reachable at {host}: {hint}", ErrorClass.connection_refused
        ) from None
    except httpx.TimeoutException:
        raise DiscoveryError(
            f"{label} at {host} did not answer within {LIST_TIMEOUT:g} s", ErrorClass.timeout
        ) from None
    except (ValueError, TypeError) as exc:  # bad JSON, or JSON of the wrong shape
        raise _malformed(label, url, str(exc).splitlines()[0][:80]) from None

    gate = asyncio.Semaphore(SHOW_CONCURRENCY)

    async def describe(name: str) -> DiscoveredModel:
        context, tools = None, None
        async with gate:
            try:
                shown = await client.show(name)
                context = _context_from_show(shown.modelinfo)
                if shown.capabilities is not None:
                    tools = "tools" in shown.capabilities
            except Exception:  # details are a bonus; the listing stands without them
                pass
        return DiscoveredModel(
            model=f"ollama:{name}",
            provider="ollama",
            base_url=f"{host}/v1",
            context_length=context,
            input_price=0.0,
            output_price=0.0,
            free=True,
            advertises_tools=tools,
        )

    names = [m.model for m in listing.models if m.model]
    return list(await asyncio.gather(*(describe(name) for name in names)))


# -- OpenRouter: /api/v1/models with prices and :free models -------------------------------


OPENROUTER_URL = "https://openrouter.ai/api/v1"


def openrouter_url() -> str:
    return openrouter_base_url(OPENROUTER_URL)


def _price_per_mtok(value: Any) -> float | None:
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return None if price < 0 else round(price * 1_000_000, 6)  # OpenRouter: USD per token


async def _discover_openrouter() -> list[DiscoveredModel]:
    base = openrouter_url()
    url = f"{base}/models"
    headers = {"Authorization": f"Bearer {key}"} if (key := api_key("OPENROUTER_API_KEY")) else None
    data = await _get_json("OpenRouter", url, "check the network or OPENROUTER_BASE_URL", headers=headers)
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise _malformed("OpenRouter", url, "no `data` list")
    models = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise _malformed("OpenRouter", url, f"model entry without an id: {str(item)[:60]}")
        pricing: dict[str, Any] = item["pricing"] if isinstance(item.get("pricing"), dict) else {}
        input_price = _price_per_mtok(pricing.get("prompt"))
        output_price = _price_per_mtok(pricing.get("completion"))
        params = item.get("supported_parameters")
        context = item.get("context_length")
        models.append(
            DiscoveredModel(
                model=f"openrouter:{item['id']}",
                provider="openrouter",
                base_url=base,
                context_length=context if isinstance(context, int) else None,
                input_price=input_price,
                output_price=output_price,
                free=item["id"].endswith(":free") or (input_price == 0 and output_price == 0),
                advertises_tools="tools" in params if isinstance(params, list) else None,
            )
        )
    return models


# -- discover() ----------------------------------------------------------------------------


async def discover(provider: str, *, free_only: bool = False) -> list[DiscoveredModel]:
    """The models `provider` ("ollama", "openrouter" or a server URL) serves, sorted.

    Raises DiscoveryError (one line, with an error class) when the provider cannot be listed.
    """
    if provider == "ollama":
        host = ollama_host()
        models = await _discover_ollama(host, "Ollama", "start it with `ollama serve` (or set OLLAMA_HOST)")
    elif provider == "openrouter":
        models = await _discover_openrouter()
    elif provider.startswith(("http://", "https://")):
        url = provider.rstrip("/")
        if url.endswith("/v1"):
            models = await _discover_openai_compatible(url, "The server")
        else:
            models = await _discover_ollama(url, "The server", "is it running?")
    else:
        raise DiscoveryError(
            f"unknown provider {provider!r}: use ollama, openrouter or a server URL (http://...)",
            ErrorClass.config,
        )
    if free_only:
        models = [m for m in models if m.free]
    return sorted(models, key=lambda m: m.model)


# -- a rich table for people, JSON for scripts ---------------------------------------------


def discovery_table(models: list[DiscoveredModel], probes: list[ProbeResult] | None = None) -> Any:
    """The discovered models (and probe results) as a rich Table."""
    from rich.table import Table

    by_model = {p.model: p for p in probes or []}
    table = Table(title=f"{len(models)} models ($ per million tokens)")
    for column in ("model", "context", "$/M in", "$/M out", "free", "tools?"):
        table.add_column(column, no_wrap=column == "model")
    if probes is not None:
        for column in ("reachable", "latency s", "tools", "error", "detail"):
            table.add_column(column)
    for m in models:
        row = [
            m.model,
            fmt_context(m.context_length),
            fmt_price(m.input_price),
            fmt_price(m.output_price),
            "yes" if m.free else "",
            {True: "listed", False: "no", None: "?"}[m.advertises_tools],
        ]
        if probes is not None and (p := by_model.get(m.model)):
            retry = f" (retry after {p.retry_after:g} s)" if p.retry_after is not None else ""
            row += [
                "yes" if p.reachable else "no",
                f"{p.latency:.2f}" if p.latency is not None else "-",
                {True: "yes", False: "no", None: "?"}[p.supports_tools],
                (p.error_class or "") + retry,
                p.detail,
            ]
        table.add_row(*row)
    return table


def to_json(models: list[DiscoveredModel], probes: list[ProbeResult] | None = None) -> str:
    """Models (with their probe results under "probe") as a JSON list."""
    by_model = {p.model: asdict(p) for p in probes or []}
    rows = []
    for m in models:
        row = asdict(m) | {"env": m.env}
        if probes is not None:
            row["probe"] = by_model.get(m.model)
        rows.append(row)
    return json.dumps(rows, indent=2)

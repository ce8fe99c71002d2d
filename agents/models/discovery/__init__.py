"""Which models a provider really serves, and whether each one answers and calls tools.

Seed 002's lesson: 90% of "failing" models did not exist under the id we guessed. So ask
the provider, then probe:

- Ollama: `/api/tags` through the `ollama` client (host from `OLLAMA_HOST`, else
  `OLLAMA_BASE_URL` without `/v1`, else http://localhost:11434). A server that answers
  `/api/tags` with 404 (the embedded llama.cpp server) is asked `/v1/models` instead.
- Any OpenAI-compatible URL: `/api/tags` first, `/v1/models` on 404 (a URL ending in
  `/v1` goes straight to `/v1/models`).
- OpenRouter: `/api/v1/models` with prices, context length and `:free` models
  (`OPENROUTER_BASE_URL` overrides the base URL; `OPENROUTER_API_KEY` is optional here).

Model strings: Ollama and OpenAI-compatible servers give `ollama:<name>` with `base_url`
set to the server's `/v1` URL: pydantic-ai's `OllamaProvider` speaks plain
OpenAI-compatible chat completions, so `OLLAMA_BASE_URL=<base_url>` makes the string usable
(verified against llama.cpp in notes/local-model). OpenRouter gives `openrouter:<id>`.

`probe()` sends each model a tiny chat request and a tiny tool-call request through
pydantic-ai and records the results in the history (never in the code).

The package, one job per module: `records` (the data types and DiscoveryError),
`http_json` (GET a listing, errors as one line, `LIST_TIMEOUT`), `openai_listing`,
`ollama_listing` and `openrouter_listing` (one per provider kind), `listing` (`discover`),
`probing` (`probe`) and `rendering` (table and JSON).
"""

from __future__ import annotations

from agents.models.discovery.listing import discover
from agents.models.discovery.ollama_listing import ollama_host
from agents.models.discovery.probing import probe
from agents.models.discovery.records import DiscoveredModel, DiscoveryError, ProbeResult
from agents.models.discovery.rendering import discovery_table, to_json

__all__ = [
    "DiscoveredModel",
    "DiscoveryError",
    "ProbeResult",
    "discover",
    "discovery_table",
    "ollama_host",
    "probe",
    "to_json",
]

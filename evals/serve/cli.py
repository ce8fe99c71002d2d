"""The dashboard on http://127.0.0.1:8321/: pages, JSON API, /docs (`codecrew serve`).

    python -m evals.serve                              # loopback only, no token needed
    python -m evals.serve --port 0                     # any free port (URL printed)
    python -m evals.serve --host 0.0.0.0 --token SECRET  # other machines: token needed
    CODECREW_SERVE_TOKEN=SECRET python -m evals.serve --host 0.0.0.0

Exit code 2 for bad options (a non-loopback address without a token, a port in use).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Annotated

import typer

from tools.formatting import cli_help

app = typer.Typer(add_completion=False, help=cli_help(__doc__))


def bind_socket(host: str, port: int) -> socket.socket:
    """A listening socket on host:port (port 0: a free one), so the printed URL is exact."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


@app.command(help=cli_help(__doc__))
def main(
    host: Annotated[str, typer.Option(help="Address to bind; not loopback: token needed.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free port).")] = 8321,
    token: Annotated[str | None, typer.Option(help="Access token (default: CODECREW_SERVE_TOKEN).")] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where evals.run writes its reports.")] = Path("reports"),
) -> None:
    import uvicorn

    from agents.config import serve_token
    from evals.serve.app import create_app
    from evals.serve.security import InsecureBind, ServeConfig

    config = ServeConfig(host=host, token=token or serve_token())
    try:
        dashboard = create_app(reports_dir=reports_dir, config=config)
    except InsecureBind as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    try:
        sock = bind_socket(host, port)
    except OSError as exc:
        typer.echo(f"error: cannot listen on {host}:{port} ({exc.strerror}): choose another --port", err=True)
        raise typer.Exit(2) from None
    bound_port = sock.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"codecrew dashboard: http://{shown}:{bound_port}/  (API docs: /docs; Ctrl-C stops it)")
    if config.token:
        typer.echo("token required: open a page once with ?token=TOKEN, or send 'Authorization: Bearer …'")
    server = uvicorn.Server(uvicorn.Config(dashboard, log_level="warning"))
    server.run(sockets=[sock])

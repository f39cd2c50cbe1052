"""`keel console`: serve the operator console with uvicorn (the 'console' extra)."""

from typing import Annotated

import typer
import uvicorn

from keel.consumers.console.app import create_app

console_app = typer.Typer(
    help="The operator console: groups, lag, rates, dead letters and replay (the 'console' extra).",
    invoke_without_command=True,
)


@console_app.callback()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8642,
    log_level: Annotated[str, typer.Option(help="uvicorn's logging level.")] = "info",
) -> None:
    """Serve the console; tokens come from KEEL_CONSOLE_TOKENS or KEEL_CONSOLE_TOKENS_FILE."""
    app = create_app()
    if not app.state.tokens:
        typer.echo(
            "warning: no console tokens (KEEL_CONSOLE_TOKENS or KEEL_CONSOLE_TOKENS_FILE): "
            "every request will be refused",
            err=True,
        )
    uvicorn.run(app, host=host, port=port, log_level=log_level)

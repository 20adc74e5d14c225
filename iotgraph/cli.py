"""The ``iotgraph`` command line: one Typer app, one module per command group."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os

import typer

app = typer.Typer(
    name="iotgraph",
    help="Find compromised IoT devices in flow logs with graph neural networks.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Each module exposes register(app). Modules are optional only while the
# project is being assembled; a missing one simply contributes no command.
COMMAND_MODULES = (
    "ingest",
    "simulate",
    "train",
    "score",
    "top",
    "windows",
    "plot",
    "demo",
    "evaluate",
    "models",
    "purge",
    "serve",
    "worker",
    "apikey",
    "migrate",
    "watch",
    "audit",
    "pseudonym",
)


@app.callback()
def _configure(
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Log debug messages."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Log warnings and errors only."),
) -> None:
    level = logging.INFO
    if verbose:
        level = logging.DEBUG
    elif quiet:
        level = logging.WARNING
    logging.basicConfig(
        level=os.environ.get("IOTGRAPH_LOG_LEVEL", logging.getLevelName(level)),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def _register_commands() -> None:
    for name in COMMAND_MODULES:
        module_name = f"iotgraph.commands.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        importlib.import_module(module_name).register(app)


_register_commands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()

"""``iotgraph pseudonym resolve``: the admin's way from a device pseudonym back to its address."""

from __future__ import annotations

import getpass
import time
import uuid
from pathlib import Path

import typer

from api.audit import AuditLog, AuditRecord
from graphdb import StoreError
from iotgraph.commands.audit import AUDIT_HELP, audit_path
from iotgraph.commands.common import StoreOption, error_console, fail, open_store_or_exit

pseudonym_app = typer.Typer(
    help="Resolve device pseudonyms written by `iotgraph ingest --pseudonymise` (admin only).", no_args_is_help=True
)


@pseudonym_app.command("resolve")
def resolve(
    pseudonym: str = typer.Argument(..., help="A device id such as dev-3f2a9c0b1d4e5f60."),
    store: str = StoreOption,
    audit_file: Path = typer.Option(None, "--audit-file", help=AUDIT_HELP, show_default=False),
) -> None:
    """Print the real address behind a pseudonym and record the resolution in the audit log.

    Reading the pseudonym table needs the store's admin access: on SQLite the
    ``.pseudonyms.db`` file beside the store (mode 0600), on Neo4j the
    store credentials.
    """
    with open_store_or_exit(store) as opened:
        try:
            address = opened.resolve_pseudonym(pseudonym)
        except (StoreError, NotImplementedError) as error:
            fail(f"cannot resolve {pseudonym!r} on {opened.url}: {error}")
        url = opened.url

    user = getpass.getuser()
    AuditLog(audit_path(audit_file, store or url)).write(
        AuditRecord(
            ts=time.time(),
            request_id=f"cli-{uuid.uuid4().hex[:12]}",
            key_id=f"cli:{user}",
            role="admin",
            operation="pseudonym resolve",
            outcome="ok" if address is not None else "error",
            status=0 if address is not None else 1,
            codes=[] if address is not None else ["NOT_FOUND"],
            devices=[pseudonym],
            devices_total=1,
        )
    )
    if address is None:
        error_console.print(f"pseudonym {pseudonym!r} is not in the pseudonym table of {url}", highlight=False)
        raise typer.Exit(1)
    typer.echo(address)


def register(app: typer.Typer) -> None:
    app.add_typer(pseudonym_app, name="pseudonym")

"""`flask cds register-client`: the same registration as the admin page, for scripts."""

from pathlib import Path

import click
from flask.cli import AppGroup

from compliance.cds import clients
from compliance.db import get_session
from compliance.services.errors import Refused

cds_group = AppGroup("cds", help="CDS Hooks clients (the EHRs allowed to call us).")


@cds_group.command("register-client", help="Register an EHR by its JWT issuer, with its "
                                           "public key file (PEM or JWK) or its JWKS URL.")
@click.option("--name", required=True)
@click.option("--issuer", required=True)
@click.option("--public-key", "key_file", type=click.Path(exists=True, dir_okay=False))
@click.option("--jwks-url", default="")
def register_client(name: str, issuer: str, key_file: str | None, jwks_url: str) -> None:
    key = Path(key_file).read_text() if key_file else ""
    try:
        client = clients.register(get_session(), name=name, issuer=issuer, public_key=key,
                                  jwks_url=jwks_url)
    except Refused as refused:
        raise click.ClickException(str(refused)) from None
    click.echo(f"Registered CDS client {client.id} for issuer {client.issuer}.")

"""Registering an EHR as a CDS Hooks client: its issuer and how its signatures are checked.

The admin page and the `cds register-client` command both come here, so a key that does
not parse, or a client with neither key nor JWKS URL, is refused the same way.
"""

from sqlalchemy import select
from sqlalchemy.orm import Session

from compliance import audit
from compliance.cds.jwt_auth import registered_key
from compliance.models import CdsClient
from compliance.services.errors import Refused


def register(db: Session, *, name: str, issuer: str, public_key: str = "",
             jwks_url: str = "") -> CdsClient:
    """Add a client; Refused names the field at fault."""
    name, issuer, public_key, jwks_url = (v.strip() for v in (name, issuer, public_key,
                                                              jwks_url))
    errors = {}
    if not name:
        errors["name"] = "Give the EHR's name."
    if not issuer:
        errors["issuer"] = "Give the issuer (iss) its JWTs carry."
    elif db.scalar(select(CdsClient.id).where(CdsClient.issuer == issuer)):
        errors["issuer"] = "A client with this issuer is already registered."
    if bool(public_key) == bool(jwks_url):
        errors["public_key"] = "Give either a public key (PEM or JWK) or a JWKS URL."
    elif public_key:
        try:
            registered_key(public_key)
        except ValueError:
            errors["public_key"] = "This is not a PEM public key nor a public JWK."
    elif not jwks_url.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        errors["jwks_url"] = "The JWKS URL must use https."
    if errors:
        raise Refused(errors)
    client = CdsClient(name=name, issuer=issuer, public_key=public_key, jwks_url=jwks_url)
    db.add(client)
    db.flush()
    audit.record(db, "cds.client_registered", "cds_client", client.id,
                 summary={"name": name, "issuer": issuer, "jwks": bool(jwks_url)})
    db.commit()
    return client
